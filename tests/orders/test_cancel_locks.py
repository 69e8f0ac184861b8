"""What a cancel locks: the order's row only, not its instrument's or its account's, so cancels
of one symbol from many accounts do not queue behind each other or behind a change to the
instrument (a reference price, a halt)."""

import threading

import pytest
from django.db import connection, transaction

from apps.clients.models import Account
from apps.instruments.models import Instrument
from apps.orders.choices import OrderStatus
from apps.orders.services import order_cancel
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def held_row_lock(model, pk) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Another connection holding ``model``'s row ``pk`` locked until released, as an UPDATE of
    it (a new reference price, an account's settings) holds it: FOR NO KEY UPDATE, which still
    lets other transactions insert rows that refer to it."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                model.objects.select_for_update(no_key=True).get(pk=pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return locked, release, thread


@pytest.mark.parametrize("model", [Instrument, Account], ids=["instrument", "account"])
def test_a_cancel_goes_through_while_another_transaction_holds_the_row_of(model, stream_prefix):
    order = OrderFactory(status=OrderStatus.NEW)
    pk = order.instrument_id if model is Instrument else order.account_id
    _, release, thread = held_row_lock(model, pk)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # waiting for that lock would fail here
        canceled = order_cancel(order=order)
    finally:
        release.set()
        thread.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert canceled.status == OrderStatus.PENDING_CANCEL
