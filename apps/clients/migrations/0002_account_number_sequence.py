"""Account numbers come from a database sequence: unique without a check-then-act race."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clients", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE clients_account_number_seq START 100001",
            "DROP SEQUENCE clients_account_number_seq",
        )
    ]
