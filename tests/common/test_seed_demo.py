import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.clients.choices import AssetClass, Role
from apps.clients.models import Account, Client
from apps.common.demo import DEMO_USERS, demo_credentials, demo_password, seed_demo
from apps.instruments.models import Instrument
from apps.positions.models import Journal, Position
from apps.positions.selectors import ledger_reconciliation

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "instruments": Instrument.objects.count(),
        "clients": Client.objects.count(),
        "accounts": Account.objects.count(),
        "users": get_user_model().objects.count(),
        "journals": Journal.objects.count(),
    }


def test_seeding_twice_changes_nothing_the_second_time():
    seed_demo()
    first = _counts()

    seed_demo()

    assert _counts() == first
    assert ledger_reconciliation() == []


def test_the_demo_covers_every_asset_class_and_role():
    seed_demo()

    classes = set(Instrument.objects.values_list("asset_class", flat=True))
    assert classes == {c.value for c in AssetClass}
    assert 20 <= Instrument.objects.count() <= 30
    assert (
        Instrument.objects.filter(asset_class=AssetClass.OPTION, underlying__symbol="AAPL").count()
        >= 6
    )
    assert set(
        Instrument.objects.filter(asset_class=AssetClass.CRYPTO).values_list("symbol", flat=True)
    ) >= {
        "BTC-USD",
        "ETH-USD",
    }
    roles = {
        g for u in get_user_model().objects.all() for g in u.groups.values_list("name", flat=True)
    }
    assert {r.value for r in Role} <= roles


def test_the_market_maker_holds_inventory_in_every_equity_and_crypto():
    seed_demo()
    maker_account = Account.objects.get(client__legal_name="Meridian Market Making LLC")

    held = set(
        Position.objects.filter(account=maker_account, quantity__gt=0).values_list(
            "instrument__symbol", flat=True
        )
    )
    tradable_cash_instruments = set(
        Instrument.objects.filter(
            asset_class__in=[AssetClass.EQUITY, AssetClass.ETF, AssetClass.CRYPTO]
        ).values_list("symbol", flat=True)
    )
    assert held == tradable_cash_instruments
    assert maker_account.cash_balances.get(currency="USD").settled > 0


def test_demo_passwords_log_in_and_staff_have_otp_devices(client):
    seed_demo()

    for spec in DEMO_USERS:
        assert client.login(username=spec.username, password=demo_password(spec.username)), (
            spec.username
        )
        client.logout()
    staff = [login for login in demo_credentials()["web"] if login["otp_secret"]]
    assert {login["role"] for login in staff} == {
        "risk_manager",
        "compliance_officer",
        "operations",
        "admin",
    }


def test_the_seed_command_refuses_to_run_outside_development(settings):
    from django.core.management.base import CommandError

    settings.IS_DEVELOPMENT = False
    with pytest.raises(CommandError, match="development"):
        call_command("seed_demo")
