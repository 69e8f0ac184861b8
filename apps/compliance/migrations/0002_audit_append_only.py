"""The audit trail is append-only: the database refuses UPDATE and DELETE on it."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION compliance_auditevent_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER compliance_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON compliance_auditevent
    FOR EACH ROW EXECUTE FUNCTION compliance_auditevent_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS compliance_auditevent_no_update_delete ON compliance_auditevent;
DROP FUNCTION IF EXISTS compliance_auditevent_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, DROP)]
