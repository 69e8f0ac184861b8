import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.demo import demo_credentials


class Command(BaseCommand):
    help = "Print the demo logins (development only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options) -> None:
        if not settings.IS_DEVELOPMENT:
            raise CommandError("Demo credentials exist only with BROKERAGE_ENV=development.")
        credentials = demo_credentials()
        if options["json"]:
            self.stdout.write(json.dumps(credentials, indent=2))
            return
        self.stdout.write(f"Demo logins (http://127.0.0.1:{settings.DEMO_PORT}/account/login/):")
        for login in credentials["web"]:
            otp = f"  OTP secret {login['otp_secret']}" if login["otp_secret"] else ""
            self.stdout.write(
                f"  {login['role']:<20} {login['username']:<12} {login['password']}{otp}"
            )
        self.stdout.write(
            "Staff roles need the OTP secret in an authenticator app "
            "(or: oathtool --totp -b SECRET)."
        )
