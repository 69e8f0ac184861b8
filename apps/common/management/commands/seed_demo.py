from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.demo import seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo data (idempotent; development only)."

    def handle(self, *args, **options) -> None:
        if not settings.IS_DEVELOPMENT:
            raise CommandError(
                "seed_demo creates well-known logins: run it only with BROKERAGE_ENV=development."
            )
        summary = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {summary['instruments']} instruments, "
                f"{summary['users']} users, {summary['accounts']} accounts."
            )
        )
