from django.core.management.base import BaseCommand, CommandParser

from apps.matching.scheduler import run_scheduler


class Command(BaseCommand):
    help = (
        "Send session phase changes from the venues' trading calendars and expire_orders "
        "every second to the matchers' input streams."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="one tick, then exit")

    def handle(self, *args, interval: float, once: bool, **opts) -> None:
        run_scheduler(interval_s=interval, once=once)
