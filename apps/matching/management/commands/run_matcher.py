from django.core.management.base import BaseCommand, CommandParser

from apps.instruments.choices import SessionPhase
from apps.matching.matcher import MatcherOptions, run_matcher
from brokerage.settings.env import env_str


class Command(BaseCommand):
    help = (
        "Run the matching engine of one shard between its Redis input and output streams "
        "(primary, or hot standby with --standby)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shard", type=int, default=0)
        parser.add_argument(
            "--standby", action="store_true", help="follow the primary, take over on lease expiry"
        )
        parser.add_argument(
            "--snapshot-every", type=int, default=50_000, help="commands between snapshots"
        )
        parser.add_argument(
            "--snapshot-interval", type=float, default=30.0, help="seconds between snapshots"
        )
        parser.add_argument(
            "--session",
            choices=SessionPhase.values,
            default=env_str("ENGINE_INITIAL_SESSION", "") or None,
            help="state new books start in, instead of the venue calendar's phase now",
        )
        parser.add_argument(
            "--symbols",
            default="",
            help="comma-separated symbols without bands or STP, no database (benchmarks, tests)",
        )
        parser.add_argument("--batch", type=int, default=2000, help="max commands per read")

    def handle(self, *args, **opts) -> None:
        symbols = [s for s in opts["symbols"].split(",") if s]
        run_matcher(
            MatcherOptions(
                shard=opts["shard"],
                standby=opts["standby"],
                snapshot_every=opts["snapshot_every"],
                snapshot_interval_s=opts["snapshot_interval"],
                session=opts["session"],
                symbols=symbols,
                batch_max=opts["batch"],
            )
        )
