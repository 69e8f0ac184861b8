"""Orders and their executions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Q

from apps.clients.models import Account
from apps.common.decimals import (
    MONEY_DIGITS,
    MONEY_PLACES,
    PRICE_DIGITS,
    PRICE_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    plain,
)
from apps.common.errors import Conflict
from apps.instruments.models import Instrument
from apps.orders.choices import (
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    Liquidity,
    OrderSource,
    OrderStatus,
    OrderType,
    SelfTradePrevention,
    Side,
    TimeInForce,
)


def _quantity(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, **kwargs)


def _price(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, **kwargs)


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


class Order(models.Model):
    """An instruction to buy or sell, from its entry to its final state.

    Status changes go through ``transition_to`` so the state machine in ``choices`` is the only
    way an order's status moves.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_order_id = models.CharField(max_length=128)
    # No single-column indexes on these two: the composite indexes below lead with them, and
    # every index is one more write on each of the applier's order updates.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=10, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices)
    quantity = _quantity()
    limit_price = _price(null=True, blank=True)
    stop_price = _price(null=True, blank=True)
    display_quantity = _quantity(
        null=True, blank=True, help_text="Iceberg: quantity shown in depth"
    )
    hidden = models.BooleanField(default=False)
    post_only = models.BooleanField(default=False)
    expire_at = models.DateTimeField(null=True, blank=True, help_text="GTD orders expire then")
    self_trade_prevention = models.CharField(
        max_length=20,
        choices=SelfTradePrevention.choices,
        default=SelfTradePrevention.CANCEL_NEWEST,
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_NEW
    )
    filled_quantity = _quantity(default=Decimal(0))
    average_fill_price = _price(null=True, blank=True)
    reject_reason = models.CharField(max_length=50, blank=True)
    reject_message = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=10, choices=OrderSource.choices)
    reserved_amount = _money(default=Decimal(0), help_text="Buying power held until fill or cancel")
    notional = _money(
        null=True,
        blank=True,
        help_text="Dollar amount ordered; the quantity is the whole lots it buys at the reference",
    )
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    engine_sequence = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Sequence of the engine's acceptance: book priority on rebuild",
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["instrument", "status"]),
            # The open quantity every order's risk check sums (``pretrade_snapshot``): only open
            # orders, with the quantities in the index, so an account quoting many orders pays
            # a scan of its open orders in one instrument and side, not of all it ever sent.
            models.Index(
                fields=["account", "instrument", "side"],
                include=["quantity", "filled_quantity"],
                condition=Q(status__in=sorted(OPEN_STATUSES)),
                name="order_open_quantity",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="client_order_id_unique_per_account"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0) & Q(filled_quantity__lte=F("quantity")),
                name="order_filled_within_quantity",
            ),
            models.CheckConstraint(
                condition=~Q(order_type__in=["limit", "stop_limit"])
                | Q(limit_price__isnull=False, limit_price__gt=0),
                name="order_limit_price_required",
            ),
            models.CheckConstraint(
                condition=~Q(order_type__in=["stop", "stop_limit"])
                | Q(stop_price__isnull=False, stop_price__gt=0),
                name="order_stop_price_required",
            ),
            models.CheckConstraint(
                condition=Q(display_quantity__isnull=True)
                | Q(display_quantity__gt=0) & Q(display_quantity__lte=F("quantity")),
                name="order_display_within_quantity",
            ),
            models.CheckConstraint(
                condition=~Q(time_in_force="gtd") | Q(expire_at__isnull=False),
                name="order_gtd_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(reserved_amount__gte=0), name="order_reservation_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {plain(self.quantity)} {self.instrument_id} ({self.status})"

    @property
    def leaves_quantity(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def can_transition_to(self, status: str) -> bool:
        return status in ORDER_TRANSITIONS.get(self.status, frozenset())

    def release_reserved(self, amount: Decimal | None = None) -> Decimal:
        """Lower the buying-power reservation by ``amount`` (default: all of it, never more than
        is held) and return what was released: the caller lowers the cash balance's ``reserved``
        by the same amount in the same transaction."""
        amount = self.reserved_amount if amount is None else min(amount, self.reserved_amount)
        if amount <= 0:
            return Decimal(0)
        self.reserved_amount -= amount
        return amount

    def transition_to(self, status: str) -> None:
        """Move to ``status`` in memory (the caller saves), or raise Conflict if the state machine
        does not allow it."""
        if not self.can_transition_to(status):
            raise Conflict(
                "invalid_transition", f"An order that is {self.status} cannot become {status}."
            )
        self.status = status

    def snapshot(self) -> dict[str, Any]:
        """The values of its columns (by attribute name) as JSON carries them, without those
        that are empty: what an order update sends and records, so that the order is shown as
        it was at the event, not read back as it is later."""
        # The applier takes one per order update: read from the instance's dict, converted by
        # kind, since a getattr and a type test per column were most of an update's cost.
        values = self.__dict__
        snapshot = {
            name: value for name in _PLAIN if (value := values[name]) is not None and value != ""
        }
        snapshot.update((n, str(v)) for n in _AS_TEXT if (v := values[n]) is not None)
        snapshot.update((n, v.isoformat()) for n in _AS_ISO if (v := values[n]) is not None)
        return snapshot

    @classmethod
    def from_snapshot(cls, values: dict[str, Any]) -> Order:
        """An unsaved order with the values of a whole ``snapshot``."""
        order = cls()
        order.restore(values, _COLUMNS)
        return order

    def restore(self, values: dict[str, Any], fields: Iterable[str]) -> None:
        """Set ``fields`` to their values in a ``snapshot`` (empty when it has none)."""
        for name in fields:
            field = _FIELDS[name]
            value = values.get(name)
            setattr(self, name, field.get_default() if value is None else field.to_python(value))


# Lifecycle fields: what the applier changes as an order lives. An order update records their
# values at the event with its audit event, and a replay shows the order with them.
LIFECYCLE_FIELDS = (
    "status",
    "quantity",
    "filled_quantity",
    "average_fill_price",
    "reject_reason",
    "reject_message",
    "accepted_at",
    "filled_at",
    "canceled_at",
    "expired_at",
    "replaced_at",
    "rejected_at",
    "updated_at",
)
_FIELDS = {field.attname: field for field in Order._meta.concrete_fields}
_COLUMNS = frozenset(_FIELDS)


def _stored_type(field: models.Field) -> str:
    return (field.target_field if field.is_relation else field).get_internal_type()


# Columns by how JSON carries their values: as they are (text, numbers, flags), as text
# (decimals, UUIDs) or in ISO 8601 (times).
_AS_ISO = tuple(n for n, f in _FIELDS.items() if _stored_type(f) in ("DateTimeField", "DateField"))
_AS_TEXT = tuple(n for n, f in _FIELDS.items() if _stored_type(f) in ("DecimalField", "UUIDField"))
_PLAIN = tuple(n for n in _FIELDS if n not in _AS_ISO and n not in _AS_TEXT)


class Execution(models.Model):
    """One fill of one order. Both sides of a trade share the engine's shard and sequence, which
    makes re-applying an engine event a no-op instead of a double count."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="executions")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="executions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="executions")
    side = models.CharField(max_length=4, choices=Side.choices)
    shard = models.PositiveSmallIntegerField()
    engine_sequence = models.BigIntegerField()
    price = _price()
    quantity = _quantity()
    liquidity = models.CharField(max_length=10, choices=Liquidity.choices)
    commission = _money(default=Decimal(0))
    regulatory_fees = _money(default=Decimal(0), help_text="SEC fee and FINRA TAF")
    realized_pnl = _money(
        default=Decimal(0), help_text="P&L this fill realized by closing a position"
    )
    executed_at = models.DateTimeField(db_index=True)
    settle_date = models.DateField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "engine_sequence", "order"], name="execution_once_per_engine_event"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="execution_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="execution_price_positive"),
            models.CheckConstraint(
                condition=Q(commission__gte=0) & Q(regulatory_fees__gte=0),
                name="execution_fees_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {plain(self.quantity)} @ {plain(self.price)}"

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity * self.instrument.multiplier


class ShardProgress(models.Model):
    """The last engine sequence the applier committed per shard: re-applying a batch after a crash
    skips everything at or below it, so nothing is counted twice."""

    shard = models.PositiveSmallIntegerField(primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"shard {self.shard} at {self.last_seq}"
