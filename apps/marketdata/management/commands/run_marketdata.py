"""``manage.py run_marketdata``: the market data process (Procfile ``marketdata``).

Three parts, each on its own thread so a slow database write in one never delays another:
the engine feed (depth and quotes from the matchers' output streams), the reference feed
handler (the simulated external market keeping ``Instrument.reference_price`` current) and,
when ``settings.DEMO_LIQUIDITY`` is on, the demo market maker and noise traders.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the market data process: engine feed, reference feed handler, demo liquidity."

    def add_arguments(self, parser):
        parser.add_argument("--no-engine-feed", action="store_true")
        parser.add_argument("--no-reference-feed", action="store_true")
        parser.add_argument(
            "--demo-liquidity",
            choices=["on", "off", "auto"],
            default="auto",
            help="auto follows settings.DEMO_LIQUIDITY (env DEMO_LIQUIDITY)",
        )
        parser.add_argument("--seed", type=int, default=None, help="simulator RNG seed")

    def handle(self, *args, **options):
        from apps.marketdata.pipeline import run_engine_feed
        from apps.marketdata.publisher import publisher

        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        threads = []
        if not options["no_engine_feed"]:
            threads.append(threading.Thread(target=run_engine_feed, kwargs={"stop": stop}))
        if not options["no_reference_feed"]:
            from apps.marketdata.feed import run_reference_feed

            threads.append(
                threading.Thread(
                    target=run_reference_feed, kwargs={"stop": stop, "seed": options["seed"]}
                )
            )
        demo = options["demo_liquidity"]
        if demo == "on" or (demo == "auto" and settings.DEMO_LIQUIDITY):
            from apps.marketdata.liquidity import run_demo_liquidity

            threads.append(
                threading.Thread(
                    target=run_demo_liquidity, kwargs={"stop": stop, "seed": options["seed"]}
                )
            )
        for thread in threads:
            thread.daemon = True
            thread.start()
        self.stdout.write(f"market data: {len(threads)} parts running")
        while not stop.wait(0.5):
            if not all(t.is_alive() for t in threads):
                logger.error("market data: a part stopped; exiting so the supervisor restarts us")
                stop.set()
        for thread in threads:
            thread.join(timeout=5)
        publisher.flush(timeout=2)
