"""Demo data for a fresh install: instruments of every asset class, one login per role, funded
accounts. Idempotent: running it again changes nothing and prints the same credentials.

Demo passwords and OTP keys are derived from SECRET_KEY with HMAC, so nothing secret is stored
in the repository and a re-run reproduces them. Development only.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.clients.choices import AccountType, AssetClass, ClientType, KycStatus, Role
from apps.clients.models import Account, Client, ClientUser, Partner
from apps.clients.roles import roles_sync
from apps.clients.services import account_open, partner_create
from apps.instruments.calendar import DEFAULT_SETTLEMENT_DAYS
from apps.instruments.choices import DayCount, ExerciseStyle, OptionType, SessionPhase
from apps.instruments.models import Holiday, Instrument, SettlementCycle, TradingSession, Venue
from apps.positions.services import cash_deposit, securities_transfer_in

D = Decimal


def demo_secret(purpose: str, length: int = 20) -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"demo:{purpose}".encode(), hashlib.sha256
    ).digest()[:length]


def demo_password(username: str) -> str:
    return "demo-" + base64.b32encode(demo_secret(f"password:{username}", 10)).decode().lower()


def demo_otp_key_hex(username: str) -> str:
    return demo_secret(f"otp:{username}").hex()


def demo_otp_base32(username: str) -> str:
    return base64.b32encode(bytes.fromhex(demo_otp_key_hex(username))).decode().rstrip("=")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str
    staff: bool = False
    superuser: bool = False


DEMO_USERS = [
    DemoUser("trader", Role.TRADER, "Ada", "Lovelace"),
    DemoUser("trader2", Role.TRADER, "Grace", "Hopper"),
    DemoUser("institution", Role.TRADER, "Isaac", "Newton"),
    DemoUser("partner", Role.PARTNER, "Paula", "Partner"),
    DemoUser("maker", Role.MARKET_MAKER, "Mark", "Maker"),
    DemoUser("risk", Role.RISK_MANAGER, "Rita", "Risk", staff=True),
    DemoUser("compliance", Role.COMPLIANCE_OFFICER, "Carl", "Compliance", staff=True),
    DemoUser("ops", Role.OPERATIONS, "Olga", "Operations", staff=True),
    DemoUser("admin", Role.ADMIN, "Alan", "Admin", staff=True, superuser=True),
]

# (mic, name, timezone, 24x7)
VENUES = [
    ("XNAS", "Nasdaq", "America/New_York", False),
    ("XNYS", "New York Stock Exchange", "America/New_York", False),
    ("XCME", "CME Globex", "America/Chicago", False),
    ("BOND", "Brokerage bond desk (OTC)", "America/New_York", False),
    ("CRYP", "Brokerage crypto venue", "UTC", True),
]
EQUITY_SESSIONS = [
    (SessionPhase.PRE_OPEN, dt.time(4, 0), dt.time(9, 25)),
    (SessionPhase.OPENING_AUCTION, dt.time(9, 25), dt.time(9, 30)),
    (SessionPhase.CONTINUOUS, dt.time(9, 30), dt.time(15, 55)),
    (SessionPhase.CLOSING_AUCTION, dt.time(15, 55), dt.time(16, 0)),
]
# NYSE holiday calendar (https://www.nyse.com/markets/hours-calendars); early closes at 13:00.
NYSE_HOLIDAYS = [
    (dt.date(2026, 11, 26), "Thanksgiving Day", None),
    (dt.date(2026, 11, 27), "Day after Thanksgiving", dt.time(13, 0)),
    (dt.date(2026, 12, 24), "Christmas Eve", dt.time(13, 0)),
    (dt.date(2026, 12, 25), "Christmas Day", None),
    (dt.date(2027, 1, 1), "New Year's Day", None),
    (dt.date(2027, 1, 18), "Martin Luther King Jr. Day", None),
    (dt.date(2027, 2, 15), "Washington's Birthday", None),
    (dt.date(2027, 3, 26), "Good Friday", None),
    (dt.date(2027, 5, 31), "Memorial Day", None),
    (dt.date(2027, 6, 18), "Juneteenth (observed)", None),
    (dt.date(2027, 7, 5), "Independence Day (observed)", None),
    (dt.date(2027, 9, 6), "Labor Day", None),
    (dt.date(2027, 11, 25), "Thanksgiving Day", None),
    (dt.date(2027, 12, 24), "Christmas Day (observed)", None),
]

# symbol, name, venue, reference price (demo starting prices of the simulated market)
EQUITIES = [
    ("AAPL", "Apple Inc.", "XNAS", "230.00"),
    ("MSFT", "Microsoft Corporation", "XNAS", "420.00"),
    ("AMZN", "Amazon.com, Inc.", "XNAS", "190.00"),
    ("NVDA", "NVIDIA Corporation", "XNAS", "140.00"),
    ("GOOGL", "Alphabet Inc. Class A", "XNAS", "170.00"),
    ("META", "Meta Platforms, Inc. Class A", "XNAS", "560.00"),
    ("TSLA", "Tesla, Inc.", "XNAS", "250.00"),
    ("JPM", "JPMorgan Chase & Co.", "XNYS", "210.00"),
    ("XOM", "Exxon Mobil Corporation", "XNYS", "115.00"),
    ("KO", "The Coca-Cola Company", "XNYS", "65.00"),
]
ETFS = [
    ("SPY", "SPDR S&P 500 ETF Trust", "XNYS", "580.00"),
    ("QQQ", "Invesco QQQ Trust", "XNAS", "500.00"),
]
CRYPTO = [
    ("BTC-USD", "Bitcoin", "60000.00", "0.01", "0.0001"),
    ("ETH-USD", "Ether", "3000.00", "0.01", "0.001"),
]
OPTION_EXPIRY = dt.date(2026, 12, 18)
OPTION_STRIKES = [D(220), D(230), D(240)]


def _venues() -> dict[str, Venue]:
    venues = {}
    for mic, name, tz, always_open in VENUES:
        venue, _ = Venue.objects.update_or_create(
            mic=mic, defaults={"name": name, "timezone": tz, "is_24x7": always_open}
        )
        venues[mic] = venue
        if not always_open:
            for phase, start, end in EQUITY_SESSIONS:
                TradingSession.objects.update_or_create(
                    venue=venue, phase=phase, defaults={"starts_at": start, "ends_at": end}
                )
        if mic in {"XNAS", "XNYS", "BOND"}:
            for date, name_, early in NYSE_HOLIDAYS:
                Holiday.objects.update_or_create(
                    venue=venue, date=date, defaults={"name": name_, "early_close": early}
                )
    for asset_class, days in DEFAULT_SETTLEMENT_DAYS.items():
        SettlementCycle.objects.update_or_create(asset_class=asset_class, defaults={"days": days})
    return venues


def _instrument(symbol: str, **fields) -> Instrument:
    instrument, _ = Instrument.objects.update_or_create(symbol=symbol, defaults=fields)
    return instrument


def _instruments(venues: dict[str, Venue]) -> list[Instrument]:
    created = []
    common_equity = {
        "tick_size": D("0.01"),
        "lot_size": D(1),
        "min_quantity": D(1),
        "shortable": True,
        "easy_to_borrow": True,
        "marginable": True,
        "fractionable": False,
    }
    for symbol, name, mic, price in EQUITIES:
        created.append(
            _instrument(
                symbol,
                name=name,
                asset_class=AssetClass.EQUITY,
                venue=venues[mic],
                reference_price=D(price),
                **common_equity,
            )
        )
    for symbol, name, mic, price in ETFS:
        created.append(
            _instrument(
                symbol,
                name=name,
                asset_class=AssetClass.ETF,
                venue=venues[mic],
                reference_price=D(price),
                **common_equity,
            )
        )
    aapl = Instrument.objects.get(symbol="AAPL")
    for strike in OPTION_STRIKES:
        for option_type, letter in ((OptionType.CALL, "C"), (OptionType.PUT, "P")):
            occ = f"AAPL{OPTION_EXPIRY:%y%m%d}{letter}{int(strike * 1000):08d}"
            intrinsic = max(
                D(0),
                (aapl.reference_price - strike)
                if letter == "C"
                else (strike - aapl.reference_price),
            )
            created.append(
                _instrument(
                    occ,
                    name=f"AAPL {OPTION_EXPIRY:%b %d %Y} {strike} {option_type.label}",
                    asset_class=AssetClass.OPTION,
                    venue=venues["XNAS"],
                    tick_size=D("0.01"),
                    lot_size=D(1),
                    min_quantity=D(1),
                    multiplier=D(100),
                    underlying=aapl,
                    expiry_date=OPTION_EXPIRY,
                    strike_price=strike,
                    option_type=option_type,
                    exercise_style=ExerciseStyle.AMERICAN,
                    reference_price=intrinsic + D("4.50"),
                    price_band_percent=D(50),
                )
            )
    created.append(
        _instrument(
            "ESZ6",
            name="E-mini S&P 500 Dec 2026",
            asset_class=AssetClass.FUTURE,
            venue=venues["XCME"],
            tick_size=D("0.25"),
            lot_size=D(1),
            min_quantity=D(1),
            multiplier=D(50),
            expiry_date=dt.date(2026, 12, 18),
            initial_margin=D(13200),
            maintenance_margin=D(12000),
            reference_price=D("5800.00"),
        )
    )
    created.append(
        _instrument(
            "CLF7",
            name="WTI Crude Oil Jan 2027",
            asset_class=AssetClass.FUTURE,
            venue=venues["XCME"],
            tick_size=D("0.01"),
            lot_size=D(1),
            min_quantity=D(1),
            multiplier=D(1000),
            expiry_date=dt.date(2026, 12, 21),
            initial_margin=D(6500),
            maintenance_margin=D(5900),
            reference_price=D("70.00"),
        )
    )
    created.append(
        _instrument(
            "UST-4.25-2034",
            name="US Treasury 4.25% Nov 2034",
            asset_class=AssetClass.BOND,
            venue=venues["BOND"],
            tick_size=D("0.001"),
            lot_size=D(1),
            min_quantity=D(1),
            multiplier=D(10),
            coupon_rate=D("4.25"),
            maturity_date=dt.date(2034, 11, 15),
            face_value=D(1000),
            day_count=DayCount.ACT_ACT,
            reference_price=D("99.500"),
            price_band_percent=D(5),
            marginable=True,
        )
    )
    created.append(
        _instrument(
            "AAPL-4.65-2046",
            name="Apple Inc. 4.65% Feb 2046",
            asset_class=AssetClass.BOND,
            venue=venues["BOND"],
            tick_size=D("0.001"),
            lot_size=D(1),
            min_quantity=D(1),
            multiplier=D(10),
            coupon_rate=D("4.65"),
            maturity_date=dt.date(2046, 2, 23),
            face_value=D(1000),
            day_count=DayCount.THIRTY_360,
            reference_price=D("94.250"),
            price_band_percent=D(5),
        )
    )
    for symbol, name, price, tick, lot in CRYPTO:
        created.append(
            _instrument(
                symbol,
                name=name,
                asset_class=AssetClass.CRYPTO,
                venue=venues["CRYP"],
                tick_size=D(tick),
                lot_size=D(lot),
                min_quantity=D(lot),
                fractionable=True,
                reference_price=D(price),
            )
        )
    return created


def _user(spec: DemoUser):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@demo.brokerage.test",
            "is_staff": spec.staff,
            "is_superuser": spec.superuser,
        },
    )
    if created or not user.check_password(demo_password(spec.username)):
        user.set_password(demo_password(spec.username))
        user.save()
    user.groups.add(Group.objects.get(name=str(spec.role)))
    if spec.staff:
        TOTPDevice.objects.update_or_create(
            user=user,
            name="Demo authenticator",
            defaults={"key": demo_otp_key_hex(spec.username), "confirmed": True},
        )
    return user


def _client(key: str, user, **fields) -> Client:
    client = Client.objects.filter(tax_id=f"DEMO-{key}").first()
    if client is None:
        client = Client.objects.create(
            tax_id=f"DEMO-{key}", kyc_status=KycStatus.APPROVED, **fields
        )
    if user is not None:
        ClientUser.objects.get_or_create(client=client, user=user)
    return client


def _account(number: str, client: Client, **kwargs) -> Account:
    account = Account.objects.filter(number=number).first()
    return account or account_open(client=client, number=number, **kwargs)


ALL_CLASSES = [
    AssetClass.EQUITY,
    AssetClass.ETF,
    AssetClass.BOND,
    AssetClass.OPTION,
    AssetClass.FUTURE,
    AssetClass.CRYPTO,
]


@transaction.atomic
def seed_demo() -> dict[str, object]:
    """Create or refresh every piece of demo data; returns a summary."""
    roles_sync()
    venues = _venues()
    instruments = _instruments(venues)
    users = {spec.username: _user(spec) for spec in DEMO_USERS}

    ada = _client(
        "ada",
        users["trader"],
        client_type=ClientType.RETAIL,
        legal_name="Ada Lovelace",
        country="GB",
        email="ada@demo.brokerage.test",
        date_of_birth=dt.date(1990, 12, 10),
        city="London",
    )
    grace = _client(
        "grace",
        users["trader2"],
        client_type=ClientType.RETAIL,
        legal_name="Grace Hopper",
        country="US",
        email="grace@demo.brokerage.test",
        date_of_birth=dt.date(1986, 12, 9),
        city="Arlington",
    )
    harbor = _client(
        "harbor",
        users["institution"],
        client_type=ClientType.INSTITUTIONAL,
        legal_name="Blue Harbor Asset Management LLC",
        country="US",
        lei="5493001BLUEHARBOR001",
    )
    meridian = _client(
        "meridian",
        users["maker"],
        client_type=ClientType.MARKET_MAKER,
        legal_name="Meridian Market Making LLC",
        country="US",
        lei="5493001MERIDIANMM001",
    )

    retail_limits = {
        "max_order_quantity": D(10_000),
        "max_order_notional": D(250_000),
        "max_orders_per_second": 20,
    }
    accounts = {
        "ada-cash": (
            _account(
                "DEMO0001",
                ada,
                account_type=AccountType.CASH,
                asset_classes=[
                    AssetClass.EQUITY,
                    AssetClass.ETF,
                    AssetClass.CRYPTO,
                    AssetClass.BOND,
                ],
                risk_limits=retail_limits,
            ),
            D(100_000),
        ),
        "ada-margin": (
            _account(
                "DEMO0002",
                ada,
                account_type=AccountType.MARGIN,
                asset_classes=ALL_CLASSES,
                option_level=2,
                short_selling=True,
                risk_limits=retail_limits,
            ),
            D(250_000),
        ),
        "grace-cash": (
            _account(
                "DEMO0003",
                grace,
                account_type=AccountType.CASH,
                asset_classes=[AssetClass.EQUITY, AssetClass.ETF, AssetClass.CRYPTO],
                risk_limits=retail_limits,
            ),
            D(100_000),
        ),
        "harbor": (
            _account(
                "DEMO0004",
                harbor,
                account_type=AccountType.MARGIN,
                asset_classes=ALL_CLASSES,
                option_level=3,
                short_selling=True,
                risk_limits={"max_order_notional": D(5_000_000)},
            ),
            D(10_000_000),
        ),
        "meridian": (
            _account(
                "DEMO0005",
                meridian,
                account_type=AccountType.MARGIN,
                asset_classes=ALL_CLASSES,
                option_level=4,
                short_selling=True,
            ),
            D(50_000_000),
        ),
    }

    partner = Partner.objects.filter(name="Northwind Fintech").first() or partner_create(
        name="Northwind Fintech"
    )
    users["partner"].groups.add(partner.group)
    northwind_client = _client(
        "northwind-1",
        None,
        client_type=ClientType.RETAIL,
        legal_name="Nora Winters",
        country="US",
        email="nora@demo.brokerage.test",
        date_of_birth=dt.date(1994, 3, 3),
        partner=partner,
    )
    accounts["northwind"] = (
        _account(
            "DEMO0006",
            northwind_client,
            account_type=AccountType.CASH,
            partner=partner,
            asset_classes=[AssetClass.EQUITY, AssetClass.ETF, AssetClass.CRYPTO],
            risk_limits=retail_limits,
        ),
        D(25_000),
    )

    for key, (account, amount) in accounts.items():
        cash_deposit(account=account, amount=amount, reference=f"demo:funding:{key}")

    # The market maker starts with inventory in every equity, ETF and crypto, so a fresh install
    # can trade both ways.
    meridian_account = accounts["meridian"][0]
    for instrument in instruments:
        if instrument.asset_class in (AssetClass.EQUITY, AssetClass.ETF):
            quantity = D(50_000)
        elif instrument.asset_class == AssetClass.CRYPTO:
            quantity = D(500) if instrument.symbol == "BTC-USD" else D(5_000)
        else:
            continue
        securities_transfer_in(
            account=meridian_account,
            instrument=instrument,
            quantity=quantity,
            cost_basis=instrument.reference_price,
            reference=f"demo:inventory:{meridian_account.number}:{instrument.symbol}",
        )
    # API keys: one trading key per account, one broker key for the partner (see demo_api_keys).
    from apps.api.models import ApiKey
    from apps.api.services import api_key_issue

    for owner, key_id, secret in demo_api_keys(
        [account for account, _ in accounts.values()], partner
    ):
        if not ApiKey.objects.filter(key_id=key_id).exists():
            api_key_issue(key_id=key_id, secret=secret, label="demo", **owner)
    return {"instruments": len(instruments), "users": len(users), "accounts": len(accounts)}


def demo_api_keys(accounts: list[Account], partner: Partner) -> list[tuple[dict, str, str]]:
    """(owner, key_id, secret) of the demo API keys, derived from SECRET_KEY like the passwords."""

    def derive(purpose: str, prefix: str) -> tuple[str, str]:
        key_id = prefix + base64.b32encode(demo_secret(f"api-key-id:{purpose}", 15)).decode()
        secret = base64.urlsafe_b64encode(demo_secret(f"api-secret:{purpose}", 30)).decode()
        return key_id[:20], secret

    keys = [({"account": a}, *derive(f"account:{a.number}", "PK")) for a in accounts]
    keys.append(({"partner": partner}, *derive(f"partner:{partner.name}", "CK")))
    return keys


def demo_credentials() -> dict[str, object]:
    """The seeded logins (development only), in the shape `demo_credentials --json` prints."""
    web = [
        {
            "username": spec.username,
            "password": demo_password(spec.username),
            "role": str(spec.role),
            "otp_secret": demo_otp_base32(spec.username) if spec.staff else None,
        }
        for spec in DEMO_USERS
    ]
    partner = Partner.objects.filter(name="Northwind Fintech").first()
    accounts = list(
        Account.objects.filter(number__startswith="DEMO")
        .select_related("client")
        .order_by("number")
    )
    trading, partner_key = [], None
    if partner is not None:
        for owner, key_id, secret in demo_api_keys(accounts, partner):
            if "partner" in owner:
                partner_key = {"key_id": key_id, "secret": secret}
                continue
            account = owner["account"]
            trading.append(
                {
                    "account_id": str(account.pk),
                    "account_number": account.number,
                    "client_type": account.client.client_type,
                    "key_id": key_id,
                    "secret": secret,
                }
            )
    return {"web": web, "partner": partner_key, "trading": trading}
