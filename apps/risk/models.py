"""Risk controls that live in the database: kill switches, locates, alerts on held orders."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from apps.common.decimals import QUANTITY_DIGITS, QUANTITY_PLACES, plain
from apps.risk.choices import AlertKind, AlertStatus, KillSwitchScope


class KillSwitch(models.Model):
    """Stops new orders for the firm, a client or an account while ``active`` (and cancels their
    open orders when engaged through the service)."""

    scope = models.CharField(max_length=10, choices=KillSwitchScope.choices)
    client = models.ForeignKey("clients.Client", null=True, blank=True, on_delete=models.CASCADE)
    account = models.ForeignKey("clients.Account", null=True, blank=True, on_delete=models.CASCADE)
    active = models.BooleanField(default=True)
    reason = models.CharField(max_length=300)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    set_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="firm", client__isnull=True, account__isnull=True)
                | Q(scope="client", client__isnull=False, account__isnull=True)
                | Q(scope="account", client__isnull=True, account__isnull=False),
                name="kill_switch_target_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        target = self.account or self.client or "firm"
        return f"Kill switch on {target} ({'on' if self.active else 'off'})"


class Locate(models.Model):
    """Borrow located for a short sale (Reg SHO): quantity the account may sell short until
    ``expires_at``. Easy-to-borrow instruments need none."""

    account = models.ForeignKey("clients.Account", on_delete=models.CASCADE, related_name="locates")
    instrument = models.ForeignKey("instruments.Instrument", on_delete=models.CASCADE)
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    used_quantity = models.DecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, default=Decimal(0)
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(used_quantity__gte=0) & Q(used_quantity__lte=F("quantity")),
                name="locate_used_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"Locate {plain(self.quantity)} {self.instrument} for {self.account}"


class RiskAlert(models.Model):
    """Something a risk manager must look at; a held order waits here for approval or refusal."""

    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    account = models.ForeignKey("clients.Account", null=True, blank=True, on_delete=models.PROTECT)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="risk_alerts"
    )
    code = models.CharField(max_length=50)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"
