"""Database guards for the ledger: journals balance per asset at commit, postings never change."""

from django.db import migrations

BALANCED_JOURNALS = """
CREATE FUNCTION positions_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT asset, SUM(amount) AS total INTO unbalanced
      FROM positions_posting
     WHERE journal_id = NEW.journal_id
     GROUP BY asset
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in %: postings sum to %',
            NEW.journal_id, unbalanced.asset, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

-- Deferred to commit, so a journal's legs can be inserted one by one in the same transaction.
CREATE CONSTRAINT TRIGGER positions_posting_balanced
    AFTER INSERT ON positions_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION positions_journal_balanced();

CREATE FUNCTION positions_posting_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'postings are append-only: book a correcting journal instead'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER positions_posting_no_update_delete
    BEFORE UPDATE OR DELETE ON positions_posting
    FOR EACH ROW EXECUTE FUNCTION positions_posting_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS positions_posting_no_update_delete ON positions_posting;
DROP FUNCTION IF EXISTS positions_posting_immutable();
DROP TRIGGER IF EXISTS positions_posting_balanced ON positions_posting;
DROP FUNCTION IF EXISTS positions_journal_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("positions", "0001_initial")]

    operations = [migrations.RunSQL(BALANCED_JOURNALS, DROP)]
