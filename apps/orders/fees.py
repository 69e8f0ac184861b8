"""Fees charged on executions: the broker's commission schedule per client type and asset class,
and the regulatory fees passed through on sales of US equities.

Rates: SEC Section 31 fee $27.80 per million dollars of sale proceeds (rounded up to the cent),
FINRA Trading Activity Fee $0.000166 per share sold, at most $8.30 per trade. Both are set by the
regulators and change once or twice a year: update them here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from apps.clients.choices import AssetClass, ClientType

CENT = Decimal("0.01")
SEC_FEE_PER_DOLLAR = Decimal("27.80") / Decimal(1_000_000)
FINRA_TAF_PER_SHARE = Decimal("0.000166")
FINRA_TAF_MAX = Decimal("8.30")

# (per unit, percent of notional, minimum per execution); unit = share, contract or bond.
_SCHEDULE: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]] = {
    (ClientType.RETAIL, AssetClass.EQUITY): (Decimal(0), Decimal(0), Decimal(0)),
    (ClientType.RETAIL, AssetClass.ETF): (Decimal(0), Decimal(0), Decimal(0)),
    (ClientType.RETAIL, AssetClass.OPTION): (Decimal("0.65"), Decimal(0), Decimal(0)),
    (ClientType.RETAIL, AssetClass.FUTURE): (Decimal("0.85"), Decimal(0), Decimal(0)),
    (ClientType.RETAIL, AssetClass.BOND): (Decimal(1), Decimal(0), Decimal(0)),
    (ClientType.RETAIL, AssetClass.CRYPTO): (Decimal(0), Decimal("0.25"), Decimal(0)),
    (ClientType.INSTITUTIONAL, AssetClass.EQUITY): (Decimal("0.0035"), Decimal(0), Decimal("0.35")),
    (ClientType.INSTITUTIONAL, AssetClass.ETF): (Decimal("0.0035"), Decimal(0), Decimal("0.35")),
    (ClientType.INSTITUTIONAL, AssetClass.OPTION): (Decimal("0.50"), Decimal(0), Decimal(1)),
    (ClientType.INSTITUTIONAL, AssetClass.FUTURE): (Decimal("0.50"), Decimal(0), Decimal(0)),
    (ClientType.INSTITUTIONAL, AssetClass.BOND): (Decimal("0.50"), Decimal(0), Decimal(0)),
    (ClientType.INSTITUTIONAL, AssetClass.CRYPTO): (Decimal(0), Decimal("0.10"), Decimal(0)),
}


@dataclass(frozen=True, slots=True)
class Fees:
    commission: Decimal
    sec_fee: Decimal
    finra_taf: Decimal

    @property
    def regulatory(self) -> Decimal:
        return self.sec_fee + self.finra_taf

    @property
    def total(self) -> Decimal:
        return self.commission + self.regulatory


def execution_fees(
    *, client_type: str, asset_class: str, side: str, quantity: Decimal, notional: Decimal
) -> Fees:
    """Fees of one execution. Market makers pay no commission (they provide the liquidity)."""
    per_unit, percent, minimum = _SCHEDULE.get(
        (client_type, asset_class), (Decimal(0), Decimal(0), Decimal(0))
    )
    commission = quantity * per_unit + notional * percent / 100
    if commission:
        commission = max(commission, minimum)
    commission = commission.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sec_fee = finra_taf = Decimal(0)
    if side == "sell" and asset_class in (AssetClass.EQUITY, AssetClass.ETF):
        sec_fee = (notional * SEC_FEE_PER_DOLLAR).quantize(CENT, rounding=ROUND_CEILING)
        finra_taf = min(quantity * FINRA_TAF_PER_SHARE, FINRA_TAF_MAX).quantize(
            CENT, rounding=ROUND_HALF_EVEN
        )
    return Fees(commission, sec_fee, finra_taf)
