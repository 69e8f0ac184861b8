"""The journal balance check runs once per INSERT (or COPY) statement instead of once per posting
at commit.

The per-row deferred trigger summed a journal's postings once for every posting in it: at the
applier's volumes, thousands of identical sums per commit. The statement trigger reads the
statement's new rows (a transition table) and checks every journal they touch with one grouped
query. It is stricter, not looser: a journal must balance after each statement that adds to it,
so its legs are inserted together (``post_journals`` writes all legs in one COPY).
"""

from django.db import migrations

STATEMENT_CHECK = """
DROP TRIGGER IF EXISTS positions_posting_balanced ON positions_posting;
DROP FUNCTION IF EXISTS positions_journal_balanced();

CREATE FUNCTION positions_journals_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT p.journal_id, p.asset, SUM(p.amount) AS total INTO unbalanced
      FROM positions_posting p
     WHERE p.journal_id IN (SELECT DISTINCT journal_id FROM new_postings)
     GROUP BY p.journal_id, p.asset
    HAVING SUM(p.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in %: postings sum to %',
            unbalanced.journal_id, unbalanced.asset, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER positions_postings_balanced
    AFTER INSERT ON positions_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION positions_journals_balanced();
"""

ROW_CHECK_AGAIN = """
DROP TRIGGER IF EXISTS positions_postings_balanced ON positions_posting;
DROP FUNCTION IF EXISTS positions_journals_balanced();

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

CREATE CONSTRAINT TRIGGER positions_posting_balanced
    AFTER INSERT ON positions_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION positions_journal_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("positions", "0002_ledger_guards")]

    operations = [migrations.RunSQL(STATEMENT_CHECK, ROW_CHECK_AGAIN)]
