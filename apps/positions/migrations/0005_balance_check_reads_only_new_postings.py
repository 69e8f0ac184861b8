"""The journal balance check sums only the statement's new postings, not every posting of the
journals they touch.

It refuses exactly what the check of 0003 refused. Every statement that adds postings is checked
(this trigger, on INSERT and COPY) and postings never change or go (0002), so each journal
balances before a statement adds to it; it balances after the statement if and only if the
statement's own postings for it sum to zero in every asset. Reading the journals' earlier
postings back through the index (1,250 postings per applier batch) was half the cost of the
statement: 12 -> 6 ms for the batch's postings on the development machine.
"""

from importlib import import_module

from django.db import migrations

NEW_POSTINGS_ONLY = """
CREATE OR REPLACE FUNCTION positions_journals_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT n.journal_id, n.asset, SUM(n.amount) AS total INTO unbalanced
      FROM new_postings n
     GROUP BY n.journal_id, n.asset
    HAVING SUM(n.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance in %: postings sum to %',
            unbalanced.journal_id, unbalanced.asset, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
"""

# Back: the trigger and function of 0003, as 0003 creates them.
EVERY_POSTING_OF_THE_JOURNALS = (
    "DROP TRIGGER IF EXISTS positions_postings_balanced ON positions_posting;\n"
    "DROP FUNCTION IF EXISTS positions_journals_balanced();\n"
    + import_module("apps.positions.migrations.0003_balance_check_per_statement").STATEMENT_CHECK
)


class Migration(migrations.Migration):
    dependencies = [("positions", "0004_ledger_indexes_without_duplicates")]

    operations = [migrations.RunSQL(NEW_POSTINGS_ONLY, EVERY_POSTING_OF_THE_JOURNALS)]
