"""Settlement: per account, currency and settlement date, trades are netted into one movement
from unsettled to settled cash."""

from __future__ import annotations

from django.db import models

from apps.common.decimals import MONEY_DIGITS, MONEY_PLACES


class Settlement(models.Model):
    """The net cash of an account's executions settling on one date, and the journal that moved
    it. Unique per (account, currency, date): settling twice is impossible."""

    account = models.ForeignKey(
        "clients.Account", on_delete=models.PROTECT, related_name="settlements"
    )
    currency = models.CharField(max_length=3)
    settle_date = models.DateField()
    net_amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    execution_count = models.PositiveIntegerField()
    journal = models.OneToOneField(
        "positions.Journal", on_delete=models.PROTECT, null=True, blank=True
    )
    settled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-settle_date", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "currency", "settle_date"], name="settle_once_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.settle_date} {self.net_amount} {self.currency}"
