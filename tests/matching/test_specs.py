from decimal import Decimal

import pytest

from apps.instruments.choices import MatchingAlgorithm
from apps.matching.engine import Engine, NewOrder
from apps.matching.specs import instrument_spec
from tests.instruments.factories import BondFactory, CryptoFactory, EquityFactory


def test_equity_spec_has_the_order_entry_band_in_ticks_and_a_dynamic_band():
    equity = EquityFactory.build(
        symbol="ACME", reference_price=Decimal("100.00"), price_band_percent=Decimal(10)
    )
    spec = instrument_spec(equity, session="continuous")
    assert (spec.band_low, spec.band_high) == (9000, 11000)
    assert spec.reference_price == 10000
    assert spec.dynamic_band_pct == 5
    assert spec.self_trade_prevention is True
    assert spec.algorithm == "fifo"
    assert spec.session == "continuous"


def test_band_edges_are_snapped_inward_to_the_tick_grid():
    equity = EquityFactory.build(
        reference_price=Decimal("33.33"),
        price_band_percent=Decimal("7.5"),
        tick_size=Decimal("0.05"),
    )
    spec = instrument_spec(equity)
    # 33.33 +- 2.49975 -> [30.83025, 35.82975] -> inward onto 0.05 ticks: 30.85 .. 35.80
    assert (spec.band_low, spec.band_high) == (617, 716)
    assert spec.reference_price == 667  # 33.33 / 0.05 = 666.6, nearest tick
    assert spec.session == "closed"


def test_bond_has_no_dynamic_band_and_no_reference_means_no_static_band():
    bond = BondFactory.build(matching_algorithm=MatchingAlgorithm.PRO_RATA)
    assert instrument_spec(bond).dynamic_band_pct is None
    assert instrument_spec(bond).algorithm == "pro_rata"
    crypto = CryptoFactory.build(reference_price=None)
    spec = instrument_spec(crypto)
    assert (spec.band_low, spec.band_high, spec.reference_price) == (None, None, None)
    assert spec.dynamic_band_pct == 10


def test_engine_rejects_outside_the_static_band():
    engine = Engine()
    engine.register(instrument_spec(EquityFactory.build(symbol="BAND"), session="continuous"))
    [event] = engine.process(
        NewOrder(ts_ns=1, symbol="BAND", order_id="a", side="buy", qty=1, price=11001)
    )
    assert event[0] == "rejected" and event[6] == "price_outside_band"
    events = engine.process(
        NewOrder(ts_ns=2, symbol="BAND", order_id="b", side="buy", qty=1, price=11000)
    )
    assert events[0][0] == "accepted"


@pytest.mark.parametrize("factory", [EquityFactory, CryptoFactory, BondFactory])
def test_every_asset_class_builds_a_spec(factory):
    assert instrument_spec(factory.build()).symbol
