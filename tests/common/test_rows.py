"""The one-row statements of the order path write and read exactly what the ORM would."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_init
from django.forms.models import model_to_dict

from apps.common.bulk import fetch_joined
from apps.common.rows import (
    RowLayout,
    insert_one,
    row_layout,
    select_joined,
    select_one,
    update_one,
)
from apps.compliance.models import AuditEvent
from apps.instruments.models import Instrument
from apps.orders.choices import OrderStatus
from apps.orders.models import Order
from apps.positions.models import CashBalance
from tests.orders.factories import OrderFactory
from tests.positions.factories import CashBalanceFactory

pytestmark = pytest.mark.django_db


def _columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_select_one_loads_the_row_as_the_orm_does():
    order = OrderFactory(expire_at=None, notional=Decimal("250.5"))

    loaded = select_one(Order, "t.id = %s", [order.pk])

    assert row_layout(Order).fills_dict  # no __init__ of its own, no init receivers
    assert _columns(loaded) == _columns(Order.objects.get(pk=order.pk))
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_a_model_with_init_receivers_is_loaded_through_its_init():
    order = OrderFactory()
    initialized = []

    def receiver(sender, instance, **kwargs):
        initialized.append(instance)

    post_init.connect(receiver, sender=Order)
    try:
        layout = RowLayout(Order)
        loaded = layout.load([getattr(order, name) for name in layout.attnames])
    finally:
        post_init.disconnect(receiver, sender=Order)
    assert not layout.fills_dict
    assert initialized == [loaded]
    assert _columns(loaded) == _columns(order)


def test_select_joined_loads_each_table_and_none_for_an_outer_join_without_a_row():
    order = OrderFactory()
    tables = ((Order, "o", ""), (Order, "r", "LEFT JOIN {table} r ON r.replaces_id = o.id"))

    loaded, replacement = select_joined(tables, "o.id = %s", [order.pk])

    assert _columns(loaded) == _columns(Order.objects.get(pk=order.pk))
    assert replacement is None
    assert select_joined(tables, "o.id = %s", [uuid.uuid4()]) is None


def test_fetch_joined_reads_many_rows_in_binary_each_table_as_the_orm_does():
    orders = sorted([OrderFactory(), OrderFactory()], key=lambda o: o.pk)
    tables = ((Order, "o", ""), (Instrument, "i", "JOIN {table} i ON i.id = o.instrument_id"))

    rows = fetch_joined(tables, "o.id = ANY(%b) ORDER BY o.id", [[o.pk for o in orders]])

    assert [(_columns(order), _columns(instrument)) for order, instrument in rows] == [
        (_columns(Order.objects.get(pk=o.pk)), _columns(Instrument.objects.get(pk=o.instrument_id)))
        for o in orders
    ]


def test_select_one_answers_none_when_no_row_matches():
    assert select_one(CashBalance, "t.account_id = %s", [uuid.uuid4()]) is None


@pytest.mark.django_db(transaction=True)
def test_select_one_with_lock_waits_for_the_row_holder():
    cash = CashBalanceFactory()
    locked, released = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        with transaction.atomic():
            select_one(CashBalance, "t.id = %s", [cash.pk], lock=True)
            locked.set()
            released.wait(5)
            CashBalance.objects.filter(pk=cash.pk).update(reserved=Decimal("7"))
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert locked.wait(5)
    with transaction.atomic():
        released.set()  # the holder updates, then commits; our lock waits for that commit
        seen = select_one(CashBalance, "t.id = %s", [cash.pk], lock=True)
    holder.join(5)

    assert seen.reserved == Decimal("7")


def test_insert_one_writes_what_save_would():
    first = OrderFactory()
    order = Order(
        account=first.account,
        instrument=first.instrument,
        client_order_id="second",
        side=first.side,
        order_type=first.order_type,
        time_in_force=first.time_in_force,
        quantity=Decimal("3"),
        limit_price=Decimal("99.75"),
        status=OrderStatus.PENDING_NEW,
        reserved_amount=Decimal("12.5"),
    )

    insert_one(order)

    stored = Order.objects.get(pk=order.pk)
    assert _columns(stored) == _columns(order)
    assert order.created_at is not None and order.updated_at is not None  # auto_now(_add)
    assert order._state.adding is False


def test_insert_one_reads_back_a_generated_key_and_encodes_json():
    event = AuditEvent(
        action="test.done",
        object_type="orders.order",
        object_id="1",
        actor_label="tester",
        changes={"qty": Decimal("1.5"), "at": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)},
    )

    insert_one(event)

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.changes == {"qty": "1.5", "at": "2026-01-02T00:00:00Z"}
    assert model_to_dict(stored, exclude=["changes"]) == model_to_dict(event, exclude=["changes"])


def test_update_one_writes_only_the_named_fields_and_touches_auto_now():
    cash = CashBalanceFactory(reserved=Decimal("1"))
    before = CashBalance.objects.get(pk=cash.pk).updated_at
    CashBalance.objects.filter(pk=cash.pk).update(settled=Decimal("500"))  # another writer
    cash.reserved = Decimal("3.25")

    update_one(cash, ["reserved", "updated_at"])

    stored = CashBalance.objects.get(pk=cash.pk)
    assert stored.reserved == Decimal("3.25")
    assert stored.settled == Decimal("500")  # not in the update: left as the other writer set it
    assert stored.updated_at > before
