"""Names: Redis keys of the market data cache and Channels groups of the live feeds.

Every Redis key starts with ``settings.MARKETDATA_PREFIX`` (default ``<ENGINE_STREAM_PREFIX>:md``)
so a test or a benchmark with its own engine prefix never reads or writes a running demo's cache.
Group names may hold only ASCII letters, digits, hyphens, underscores and periods (Channels'
rule), and our symbols already do (``BTC-USD``, ``UST-4.25-2034``); anything else is replaced.
"""

from __future__ import annotations

import re

from django.conf import settings

CHANNELS = ("quotes", "depth", "trades", "bars")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def prefix() -> str:
    return getattr(settings, "MARKETDATA_PREFIX", None) or f"{settings.ENGINE_STREAM_PREFIX}:md"


def quote_key(symbol: str) -> str:
    """Hash: bid, bid_size, ask, ask_size, at_ns (the engine's last ``top``)."""
    return f"{prefix()}:quote:{symbol}"


def depth_key(symbol: str) -> str:
    """Hash: ``seq`` and one field per level, ``b:<price>`` / ``a:<price>`` = ``qty|count``."""
    return f"{prefix()}:depth:{symbol}"


def trade_key(symbol: str) -> str:
    """Hash: the latest committed trade (price, qty, side, at_ns, seq)."""
    return f"{prefix()}:trade:{symbol}"


def quote_history_key(symbol: str) -> str:
    """Stream: L1 changes, capped (``QUOTE_HISTORY_MAXLEN``); ids are arrival milliseconds."""
    return f"{prefix()}:quotes:{symbol}"


def reference_key() -> str:
    """Hash: symbol -> latest reference price from the external feed (Decimal string)."""
    return f"{prefix()}:reference"


def feed_status_key() -> str:
    """Hash: the feed handler's counters (duplicates, gaps, recovered, ...)."""
    return f"{prefix()}:feed"


def group(channel: str, symbol: str) -> str:
    """The Channels group of one feed: ``md.quotes.AAPL``, ``md.depth.BTC-USD`` ..."""
    return f"md.{channel}.{_UNSAFE.sub('_', symbol)}"[:99]
