"""A simulated ACH rail: the stand-in for a real bank's ACH origination API in development, the
sandbox and tests. It decides like a bank would (validates, accepts or returns with an ACH return
code) but moves no real money. Replace ``AchRail`` with a real adapter of the same shape.

Deterministic rules, so partners can script failures in the sandbox the way Alpaca's sandbox lets
them: an amount of more than ``MAX_ACH_AMOUNT`` is refused (the per-transfer ACH limit), and a bank
account number ending in ``0001`` is returned R01 (insufficient funds at the bank) on deposits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MAX_ACH_AMOUNT = Decimal(50_000)
INSUFFICIENT_FUNDS_SUFFIX = "0001"


@dataclass(frozen=True)
class RailOutcome:
    accepted: bool
    reason: str = ""


class AchRail:
    """The simulated rail. ``submit`` answers at once; a real one answers days later."""

    @staticmethod
    def routing_number_is_valid(routing_number: str) -> bool:
        """ABA checksum: 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
        if len(routing_number) != 9 or not routing_number.isdigit():
            return False
        d = [int(c) for c in routing_number]
        total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
        return total % 10 == 0

    def submit(
        self, *, direction: str, amount: Decimal, routing_number: str, account_number: str
    ) -> RailOutcome:
        if amount > MAX_ACH_AMOUNT:
            return RailOutcome(False, f"Amount exceeds the ACH limit of {MAX_ACH_AMOUNT}.")
        if direction == "INCOMING" and account_number.endswith(INSUFFICIENT_FUNDS_SUFFIX):
            return RailOutcome(False, "R01: insufficient funds at the sending bank.")
        return RailOutcome(True)
