"""Market data that is worth keeping: one-minute OHLCV bars built from committed trades.

Only 1-minute bars are stored; 5-minute, hourly and daily bars are derived by grouping these
in SQL (``selectors.bars``), so there is one source of truth and nothing to keep in step.
Quotes and depth are ephemeral and live in Redis (see ``apps.marketdata.keys``).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from apps.common.decimals import MONEY_DIGITS, PRICE_DIGITS, PRICE_PLACES, QUANTITY_DIGITS
from apps.common.decimals import QUANTITY_PLACES as QTY_PLACES


def _price() -> models.DecimalField:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES)


class Bar(models.Model):
    """One minute of trading in one instrument (UTC minute ``start``), built by
    ``services.trades_committed`` with an upsert per (instrument, minute).

    ``notional`` (sum of price x qty) is kept so that the VWAP of any coarser bar is exact:
    sum(notional) / sum(volume). ``first_seq`` / ``last_seq`` are the engine sequences of the
    bar's first and last trade, so open and close stay right even if batches arrive late."""

    instrument = models.ForeignKey(
        "instruments.Instrument", on_delete=models.PROTECT, related_name="bars"
    )
    symbol = models.CharField(max_length=40)
    start = models.DateTimeField()
    open = _price()
    high = _price()
    low = _price()
    close = _price()
    volume = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QTY_PLACES)
    notional = models.DecimalField(max_digits=MONEY_DIGITS + 10, decimal_places=QTY_PLACES)
    trade_count = models.PositiveIntegerField()
    vwap = _price()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "start"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "start"], name="one_bar_per_minute"),
            models.CheckConstraint(condition=models.Q(volume__gt=0), name="bar_volume_positive"),
        ]
        indexes = [models.Index(fields=["symbol", "start"])]

    def __str__(self) -> str:
        return f"{self.symbol} {self.start:%Y-%m-%d %H:%M} c={self.close}"

    @property
    def range(self) -> Decimal:
        return self.high - self.low
