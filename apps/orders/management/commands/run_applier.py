import logging
import signal
import threading

from django.core.management.base import BaseCommand

from apps.orders.applier import run_applier


class Command(BaseCommand):
    help = "Commit the matcher's events of one shard to PostgreSQL (the applier process)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--shard", type=int, default=0)
        parser.add_argument(
            "--consumer", default=None, help="default: applier-<shard>, stable across restarts"
        )

    def handle(self, *args, shard: int, consumer: str, **options) -> None:
        logging.basicConfig(level=logging.INFO)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"applier for shard {shard} running")
        run_applier(shard, consumer=consumer or f"applier-{shard}", stop=stop)
