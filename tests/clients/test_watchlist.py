"""A user's watchlist: saved with the user, in the user's order."""

import pytest

from apps.clients.services import (
    DEFAULT_WATCHLIST,
    watchlist_add,
    watchlist_remove,
    watchlist_symbols,
)
from tests.clients.factories import UserFactory
from tests.instruments.factories import EquityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listed():
    return [EquityFactory(symbol=symbol) for symbol in ("AAPL", "MSFT", "KO")]


def test_a_first_visit_gets_the_default_names_that_are_listed(listed):
    user = UserFactory()

    assert watchlist_symbols(user=user) == [s for s in DEFAULT_WATCHLIST if s in {"AAPL", "MSFT"}]


def test_a_new_name_goes_on_top_and_the_list_is_kept_for_the_next_visit(listed):
    user, other = UserFactory(), UserFactory()

    watchlist_add(user=user, symbol="KO")
    watchlist_remove(user=user, symbol="AAPL")
    watchlist_add(user=user, symbol="NOPE")  # not an instrument: ignored

    assert watchlist_symbols(user=user) == ["KO", "MSFT"]
    assert watchlist_symbols(user=other) == ["AAPL", "MSFT"]  # each user has their own
