"""Reads of the partner API: account figures, assets, the venue calendar, activities.

Prices: until the market data app publishes last trades, positions are marked at the
instrument's ``reference_price`` (the last official price), so figures are stable and testable.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import F, Model, Q, QuerySet, Sum
from django.utils import timezone

from apps.api.choices import TRANSFER_FINAL_STATUSES, AchRelationshipStatus, TransferDirection
from apps.api.models import AchRelationship, ApiKey, Transfer
from apps.clients.choices import AccountType
from apps.clients.models import Account, Client, Partner, RiskLimit, TradingPermission
from apps.common.errors import NotFound, ValidationFailed
from apps.common.rows import select_joined
from apps.instruments.choices import AssetClass, SessionPhase
from apps.instruments.models import Holiday, Instrument, TradingSession, Venue
from apps.orders.choices import OPEN_STATUSES, Side
from apps.orders.models import Execution, Order
from apps.positions.choices import JournalKind
from apps.positions.choices import LedgerAccountKind as K
from apps.positions.models import CashBalance, Position, Posting
from apps.risk.pretrade import buying_power as risk_buying_power

# Asset ids are stable UUIDs derived from the symbol, so the same asset has the same id on every
# install and in every response (the SDK types asset_id as a UUID).
ASSET_NAMESPACE = uuid.UUID("6f1c1b0e-7f8b-5c57-9d7e-4b726f6b6572")


def asset_id_for(symbol: str) -> uuid.UUID:
    return uuid.uuid5(ASSET_NAMESPACE, symbol)


# Our asset classes in the SDK's vocabulary. Bonds and futures have no SDK name: they keep ours.
ALPACA_ASSET_CLASS = {
    AssetClass.EQUITY: "us_equity",
    AssetClass.ETF: "us_equity",
    AssetClass.OPTION: "us_option",
    AssetClass.CRYPTO: "crypto",
    AssetClass.BOND: "bond",
    AssetClass.FUTURE: "future",
}
SDK_ASSET_CLASSES = ("us_equity", "us_option", "crypto")
OUR_CLASSES_FOR = {
    "us_equity": [AssetClass.EQUITY, AssetClass.ETF],
    "us_option": [AssetClass.OPTION],
    "crypto": [AssetClass.CRYPTO],
    "bond": [AssetClass.BOND],
    "future": [AssetClass.FUTURE],
}
# Venue MIC to the SDK's exchange names (AssetExchange); others are served by MIC.
EXCHANGE_FOR_MIC = {"XNAS": "NASDAQ", "XNYS": "NYSE", "CRYP": "CRYPTO", "BOND": "OTC"}
MIC_FOR_EXCHANGE = {name: mic for mic, name in EXCHANGE_FOR_MIC.items()}

CALENDAR_MIC = "XNYS"


def exchange_name(mic: str) -> str:
    return EXCHANGE_FOR_MIC.get(mic, mic)


def mark_price(instrument: Instrument) -> Decimal:
    return instrument.reference_price or Decimal(0)


# --------------------------------------------------------------------------------------------
# Assets


def asset_classes(asset_class: str | None) -> list[str]:
    """Our asset classes for an Alpaca ``asset_class`` filter (comma-separated). Without one,
    the classes the SDK's models know: a bond or a future would fail them, so those appear
    only when a request asks for ``bond`` or ``future``."""
    classes: list[str] = []
    for name in (asset_class or ",".join(SDK_ASSET_CLASSES)).split(","):
        classes.extend(OUR_CLASSES_FOR.get(name.strip(), []))
    return classes


def assets_list(
    *,
    asset_class: str | None = None,
    status: str | None = None,
    exchange: str | None = None,
) -> QuerySet[Instrument]:
    """Instruments as the SDK's assets, of :func:`asset_classes`."""
    queryset = Instrument.objects.filter(asset_class__in=asset_classes(asset_class)).select_related(
        "venue", "underlying"
    )
    if status == "inactive":
        queryset = queryset.filter(tradable=False)
    elif status == "active":
        queryset = queryset.filter(tradable=True)
    if exchange:
        queryset = queryset.filter(venue__mic=MIC_FOR_EXCHANGE.get(exchange, exchange))
    return queryset.order_by("symbol")


def asset_get(*, symbol_or_id: str) -> Instrument:
    """One instrument by symbol (``BTC/USD`` also finds ``BTC-USD``) or by its asset id."""
    queryset = Instrument.objects.select_related("venue", "underlying")
    try:
        wanted = uuid.UUID(symbol_or_id)
    except ValueError:
        symbol = symbol_or_id.upper()
        instrument = queryset.filter(symbol__in={symbol, symbol.replace("/", "-")}).first()
    else:
        # uuid5 cannot be reversed: compare against every symbol's id (a few thousand at most).
        symbols = Instrument.objects.values_list("symbol", flat=True)
        match = next((s for s in symbols if asset_id_for(s) == wanted), None)
        instrument = queryset.filter(symbol=match).first() if match else None
    if instrument is None:
        raise NotFound("asset_not_found", f"asset not found for {symbol_or_id}")
    return instrument


# --------------------------------------------------------------------------------------------
# Positions and the trade account


@dataclass
class PositionFigures:
    position: Position
    qty_available: Decimal

    @property
    def instrument(self) -> Instrument:
        return self.position.instrument

    @property
    def multiplier(self) -> Decimal:
        return self.instrument.multiplier

    @property
    def current_price(self) -> Decimal:
        return mark_price(self.instrument)

    @property
    def market_value(self) -> Decimal:
        return self.position.quantity * self.current_price * self.multiplier

    @property
    def cost_basis(self) -> Decimal:
        return self.position.quantity * self.position.average_cost * self.multiplier

    @property
    def unrealized_pl(self) -> Decimal:
        return self.market_value - self.cost_basis

    @property
    def unrealized_plpc(self) -> Decimal:
        basis = abs(self.cost_basis)
        return self.unrealized_pl / basis if basis else Decimal(0)


def _held_for_orders(account_ids: Iterable) -> dict[tuple, Decimal]:
    """Quantity that open sell orders (long positions) or buy orders (short ones) already
    claim, per (account, instrument)."""
    rows = (
        Order.objects.filter(account_id__in=list(account_ids), status__in=OPEN_STATUSES)
        .values("account_id", "instrument_id", "side")
        .annotate(quantity=Sum("quantity"), filled=Sum("filled_quantity"))
    )
    held: dict[tuple, Decimal] = {}
    for row in rows:
        held[(row["account_id"], row["instrument_id"], row["side"])] = (
            row["quantity"] - row["filled"]
        )
    return held


def positions_open(
    *, accounts: Iterable[Account], asset_class: str | None = None, every_class: bool = False
) -> list[PositionFigures]:
    """Open positions (non-zero quantity) of the accounts, with their marks: of
    :func:`asset_classes`, or of every class."""
    account_ids = [a.pk for a in accounts]
    positions = Position.objects.filter(account_id__in=account_ids).exclude(quantity=0)
    if not every_class:
        positions = positions.filter(instrument__asset_class__in=asset_classes(asset_class))
    positions = list(
        positions.select_related("instrument__venue").order_by("account_id", "instrument__symbol")
    )
    held = _held_for_orders(account_ids)
    figures = []
    for position in positions:
        closing_side = Side.SELL if position.quantity > 0 else Side.BUY
        claimed = held.get((position.account_id, position.instrument_id, closing_side), 0)
        available = max(Decimal(0), abs(position.quantity) - claimed)
        figures.append(PositionFigures(position=position, qty_available=available))
    return figures


def position_open(*, account: Account, symbol_or_id: str) -> PositionFigures:
    instrument = asset_get(symbol_or_id=symbol_or_id)
    for figures in positions_open(accounts=[account], every_class=True):
        if figures.instrument.pk == instrument.pk:
            return figures
    raise NotFound("position_not_found", "position does not exist")


@dataclass
class TradeAccountFigures:
    """The numbers of the SDK's TradeAccount, computed from balances, positions, reservations
    and transfers in flight. Decimals throughout; the serializer turns them into strings."""

    account: Account
    cash: Decimal
    settled_cash: Decimal
    reserved: Decimal
    long_market_value: Decimal
    short_market_value: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    pending_transfer_in: Decimal
    pending_transfer_out: Decimal
    multiplier: Decimal
    risk_excess: Decimal = Decimal(0)
    positions: list[PositionFigures] = field(default_factory=list)

    @property
    def equity(self) -> Decimal:
        return self.cash + self.long_market_value + self.short_market_value

    @property
    def cash_withdrawable(self) -> Decimal:
        return max(Decimal(0), self.settled_cash - self.reserved - self.pending_transfer_out)

    @property
    def non_marginable_buying_power(self) -> Decimal:
        return max(Decimal(0), self.cash - self.reserved - self.pending_transfer_out)

    @property
    def buying_power(self) -> Decimal:
        """What pre-trade risk will let the account commit (apps.risk.pretrade.buying_power, the
        same figure the order service checks), less cash on its way out, expressed as notional:
        a margin account's excess buys twice its value in marginable stock (Reg T)."""
        excess = max(Decimal(0), self.risk_excess - self.pending_transfer_out)
        return excess * self.multiplier


# Reg T: 50% initial and 25% maintenance for marginable long stock, 150% for shorts; a future
# uses its own per-contract margins; anything not marginable needs 100%.
def _margins(figures: PositionFigures) -> tuple[Decimal, Decimal]:
    instrument = figures.instrument
    quantity = abs(figures.position.quantity)
    value = abs(figures.market_value)
    if instrument.asset_class == AssetClass.FUTURE:
        return (
            quantity * (instrument.initial_margin or 0),
            quantity * (instrument.maintenance_margin or 0),
        )
    if figures.position.quantity < 0:
        return value * Decimal("1.5"), value * Decimal("1.3")
    if instrument.marginable:
        return value * Decimal("0.5"), value * Decimal("0.25")
    return value, value


def trade_account(*, account: Account) -> TradeAccountFigures:
    currency = account.base_currency
    balance = CashBalance.objects.filter(account=account, currency=currency).first()
    positions = positions_open(accounts=[account], every_class=True)  # the account's value
    long_value = sum((p.market_value for p in positions if p.market_value > 0), Decimal(0))
    short_value = sum((p.market_value for p in positions if p.market_value < 0), Decimal(0))
    initial = sum((_margins(p)[0] for p in positions), Decimal(0))
    maintenance = sum((_margins(p)[1] for p in positions), Decimal(0))
    pending = (
        Transfer.objects.filter(account=account, currency=currency)
        .exclude(status__in=TRANSFER_FINAL_STATUSES)
        .values("direction")
        .annotate(total=Sum("amount"))
    )
    pending_by_direction = {row["direction"]: row["total"] for row in pending}
    return TradeAccountFigures(
        account=account,
        cash=balance.total if balance else Decimal(0),
        settled_cash=balance.settled if balance else Decimal(0),
        reserved=balance.reserved if balance else Decimal(0),
        long_market_value=long_value,
        short_market_value=short_value,
        initial_margin=initial,
        maintenance_margin=maintenance,
        pending_transfer_in=pending_by_direction.get(TransferDirection.INCOMING, Decimal(0)),
        pending_transfer_out=pending_by_direction.get(TransferDirection.OUTGOING, Decimal(0)),
        multiplier=Decimal(2) if account.account_type == AccountType.MARGIN else Decimal(1),
        risk_excess=risk_buying_power(account, balance) if balance else Decimal(0),
        positions=positions,
    )


# --------------------------------------------------------------------------------------------
# Market clock and calendar (the venue's sessions and holidays)


@dataclass(frozen=True)
class MarketDay:
    date: dt.date
    open: dt.datetime
    close: dt.datetime
    session_open: dt.datetime
    session_close: dt.datetime


class VenueCalendar:
    """Trading days of one venue: weekdays that are not full holidays; regular hours from the
    opening of the continuous session (or the opening auction's end) to the end of the closing
    auction, cut at the early close on half days."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.zone = ZoneInfo(venue.timezone)
        sessions = {s.phase: s for s in TradingSession.objects.filter(venue=venue)}
        if not sessions:
            raise NotFound("calendar_not_found", f"Venue {venue.mic} has no trading sessions.")
        regular = [
            s
            for phase, s in sessions.items()
            if phase
            in (SessionPhase.CONTINUOUS, SessionPhase.CLOSING_AUCTION, SessionPhase.PRE_CLOSE)
        ] or list(sessions.values())
        self.open_time = min(s.starts_at for s in regular)
        self.close_time = max(s.ends_at for s in regular)
        self.session_open_time = min(s.starts_at for s in sessions.values())
        self.session_close_time = max(s.ends_at for s in sessions.values())
        self.holidays = {h.date: h for h in Holiday.objects.filter(venue=venue)}

    @classmethod
    def for_mic(cls, mic: str = CALENDAR_MIC) -> VenueCalendar:
        venue = Venue.objects.filter(mic=mic).first()
        if venue is None:
            raise NotFound("calendar_not_found", f"No venue {mic}.")
        return cls(venue)

    def day(self, date: dt.date) -> MarketDay | None:
        if self.venue.is_24x7:
            start = dt.datetime.combine(date, dt.time(0), self.zone)
            return MarketDay(date, start, start + dt.timedelta(days=1), start, start)
        if date.weekday() >= 5:
            return None
        holiday = self.holidays.get(date)
        if holiday is not None and holiday.early_close is None:
            return None
        close = holiday.early_close if holiday is not None else self.close_time

        def at(time: dt.time) -> dt.datetime:
            return dt.datetime.combine(date, time, self.zone)

        return MarketDay(
            date,
            at(self.open_time),
            at(close),
            at(self.session_open_time),
            at(self.session_close_time),
        )

    def days(self, start: dt.date, end: dt.date) -> list[MarketDay]:
        days = []
        date = start
        while date <= end:
            day = self.day(date)
            if day is not None:
                days.append(day)
            date += dt.timedelta(days=1)
        return days

    def clock(self, now: dt.datetime | None = None) -> dict:
        now = (now or timezone.now()).astimezone(self.zone)
        today = self.day(now.date())
        is_open = today is not None and today.open <= now < today.close
        next_open = next_close = None
        date = now.date()
        for _ in range(370):
            day = self.day(date)
            if day is not None:
                if next_open is None and day.open > now:
                    next_open = day.open
                if next_close is None and day.close > now:
                    next_close = day.close
            if next_open and next_close:
                break
            date += dt.timedelta(days=1)
        return {
            "timestamp": now,
            "is_open": is_open,
            "next_open": next_open,
            "next_close": next_close,
        }


# --------------------------------------------------------------------------------------------
# Account activities: FILL from executions, cash activities from the ledger

CASH_ACTIVITY_TYPE = {
    JournalKind.DEPOSIT: "CSD",
    JournalKind.WITHDRAWAL: "CSW",
    JournalKind.JOURNAL: "JNLC",
    JournalKind.FEE: "FEE",
    JournalKind.CORRECTION: "MA",
}
KIND_FOR_ACTIVITY = {code: kind for kind, code in CASH_ACTIVITY_TYPE.items()}


def activity_id(at: dt.datetime, object_id: object) -> str:
    """Alpaca's activity id: ``YYYYMMDDHHMMSSmmm::uuid``, sortable by time then id."""
    at = at.astimezone(dt.UTC)
    return f"{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}::{object_id}"


@dataclass
class Activity:
    id: str
    account_id: uuid.UUID
    activity_type: str
    at: dt.datetime
    execution: Execution | None = None
    posting: Posting | None = None


def account_activities(
    *,
    accounts: QuerySet[Account] | list[Account],
    activity_types: list[str] | None = None,
    date: dt.date | None = None,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
    direction: str = "desc",
    page_size: int = 100,
    page_token: str | None = None,
) -> list[Activity]:
    """Trade fills and cash movements of the accounts, newest first (or oldest with
    ``direction=asc``), one page after ``page_token`` (the id of the last activity seen)."""
    page_size = max(1, min(page_size, 100))
    wanted = {t.upper() for t in activity_types} if activity_types else None
    time_filter = Q()
    if date is not None:
        time_filter &= Q(at__date=date)
    if after is not None:
        time_filter &= Q(at__gt=after)
    if until is not None:
        time_filter &= Q(at__lt=until)
    if page_token:
        token_time = _token_time(page_token)
        if direction == "desc":
            time_filter &= Q(at__lt=token_time + dt.timedelta(milliseconds=1))
        else:
            time_filter &= Q(at__gte=token_time)
    account_ids = [a.pk for a in accounts]
    activities: list[Activity] = []
    fetch = page_size + 50  # rows sharing the token's millisecond are filtered below
    if wanted is None or "FILL" in wanted:
        executions = (
            Execution.objects.filter(account_id__in=account_ids)
            .alias(at=F("executed_at"))
            .filter(time_filter)
            .select_related("order", "instrument")
            .order_by(("-" if direction == "desc" else "") + "executed_at")[:fetch]
        )
        activities.extend(
            Activity(activity_id(e.executed_at, e.pk), e.account_id, "FILL", e.executed_at, e)
            for e in executions
        )
    kinds = [kind for kind, code in CASH_ACTIVITY_TYPE.items() if wanted is None or code in wanted]
    if kinds:
        postings = (
            Posting.objects.filter(
                ledger_account__account_id__in=account_ids,
                ledger_account__kind=K.CLIENT_CASH,
                journal__kind__in=kinds,
            )
            .alias(at=F("journal__created_at"))
            .filter(time_filter)
            .select_related("journal", "ledger_account")
            .order_by(("-" if direction == "desc" else "") + "journal__created_at")[:fetch]
        )
        activities.extend(
            Activity(
                activity_id(p.journal.created_at, f"{p.journal_id}-{p.pk}"),
                p.ledger_account.account_id,
                CASH_ACTIVITY_TYPE[p.journal.kind],
                p.journal.created_at,
                posting=p,
            )
            for p in postings
        )
    activities.sort(key=lambda a: a.id, reverse=direction == "desc")
    if page_token:
        if direction == "desc":
            activities = [a for a in activities if a.id < page_token]
        else:
            activities = [a for a in activities if a.id > page_token]
    return activities[:page_size]


def _token_time(token: str) -> dt.datetime:
    stamp = token.split("::", 1)[0]
    try:
        parsed = dt.datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        return parsed + dt.timedelta(milliseconds=int(stamp[14:17] or 0))
    except ValueError as exc:
        raise ValidationFailed(
            "invalid_page_token", "page_token is not an activity id", field="page_token"
        ) from exc


def orders_open_exist(*, account: Account) -> bool:
    return Order.objects.filter(account=account, status__in=OPEN_STATUSES).exists()


# --------------------------------------------------------------------------------------------
# Funding: bank relationships and transfers of one account


def ach_relationships_for(*, account: Account, statuses: list[str] | None = None) -> QuerySet:
    """The account's bank relationships: those in ``statuses``, else every one not canceled."""
    relationships = AchRelationship.objects.filter(account=account)
    if statuses:
        return relationships.filter(status__in=statuses)
    return relationships.exclude(status=AchRelationshipStatus.CANCELED)


def ach_relationship_get(*, account: Account, relationship_id: uuid.UUID) -> AchRelationship:
    relationship = AchRelationship.objects.filter(account=account, pk=relationship_id).first()
    if relationship is None:
        raise NotFound("relationship_not_found", "ach relationship not found")
    return relationship


def transfers_for(
    *, account: Account, direction: str | None = None, offset: int = 0, limit: int = 100
) -> QuerySet[Transfer]:
    """The account's transfers, newest first, one page."""
    transfers = Transfer.objects.filter(account=account).order_by("-created_at", "-pk")
    if direction:
        transfers = transfers.filter(direction=direction)
    return transfers[offset : offset + limit]


def transfer_get(*, account: Account, transfer_id: uuid.UUID) -> Transfer:
    transfer = Transfer.objects.filter(account=account, pk=transfer_id).first()
    if transfer is None:
        raise NotFound("transfer_not_found", "transfer not found")
    return transfer


# --------------------------------------------------------------------------------------------
# API keys


# The key and what a request made with it reads: its account with the client, the trading
# permissions and the risk limits (everything an order checks), or its partner. One statement,
# as ``select_related`` would write it (``rows.select_joined``); every API request runs it, and
# building the five-table join with the ORM cost 4,000 Python calls per request, several times
# the rest of the lookup. The columns come from the models' own fields, so a field added to any
# of them is read here too.
_KEY_TABLES = (
    (ApiKey, "k", ""),
    (Account, "a", "LEFT JOIN {table} a ON a.id = k.account_id"),
    (Client, "c", "LEFT JOIN {table} c ON c.id = a.client_id"),
    (TradingPermission, "tp", "LEFT JOIN {table} tp ON tp.account_id = a.id"),
    (RiskLimit, "rl", "LEFT JOIN {table} rl ON rl.account_id = a.id"),
    (Partner, "pt", "LEFT JOIN {table} pt ON pt.id = k.partner_id"),
)


def active_api_key(*, key_id: str) -> ApiKey | None:
    """The unrevoked key with this id, with its account (client, permissions, risk limits) or
    its partner, as ``ApiKey.objects.select_related(...)`` would load them; None if unknown."""
    loaded = select_joined(_KEY_TABLES, "k.key_id = %s AND k.revoked_at IS NULL", [key_id])
    if loaded is None:
        return None
    api_key, account, client, permissions, limits, partner = loaded
    _cache_related(api_key, "account", account)
    _cache_related(api_key, "partner", partner)
    if account is not None:
        _cache_related(account, "client", client)
        _cache_related(account, "permissions", permissions)
        _cache_related(account, "risk_limit", limits)
    return api_key


def _cache_related(instance: Model, name: str, value: Model | None) -> None:
    """What select_related leaves behind: ``instance.<name>`` answered without a query (None
    for a missing row, which raises RelatedObjectDoesNotExist on a reverse one-to-one), and the
    reverse side of a one-to-one pointing back."""
    relation = instance._meta.get_field(name)
    relation.set_cached_value(instance, value)
    if value is not None and relation.one_to_one and not relation.concrete:
        relation.field.set_cached_value(value, instance)


# --------------------------------------------------------------------------------------------
# Journals


@dataclass(frozen=True, slots=True)
class CashJournal:
    """A JNLC as the partner sees it: a ledger journal of cash from one client account to
    another, read from its two postings."""

    journal_id: uuid.UUID
    from_account_id: uuid.UUID
    to_account_id: uuid.UUID
    amount: Decimal
    currency: str
    description: str
    created_at: dt.datetime


def cash_journals_for(
    *,
    partner: Partner,
    after: dt.date | None = None,
    before: dt.date | None = None,
    from_account: uuid.UUID | None = None,
    to_account: uuid.UUID | None = None,
    journal_id: uuid.UUID | None = None,
) -> list[CashJournal]:
    """The cash journals between two accounts of ``partner`` (newest first), created after /
    before the given days (exclusive, Alpaca's dates), from / to an account: one read of their
    postings. A journal with an account of someone else on either side is not the partner's."""
    legs = Posting.objects.filter(
        journal__kind=JournalKind.JOURNAL,
        ledger_account__kind=K.CLIENT_CASH,
        ledger_account__account__partner=partner,
    )
    if journal_id is not None:
        legs = legs.filter(journal_id=journal_id)
    if after is not None:
        legs = legs.filter(journal__created_at__date__gt=after)
    if before is not None:
        legs = legs.filter(journal__created_at__date__lt=before)
    rows = legs.order_by("-journal__created_at", "journal_id").values_list(
        "journal_id",
        "journal__description",
        "journal__created_at",
        "ledger_account__account_id",
        "asset",
        "amount",
    )
    by_journal: dict[uuid.UUID, list[tuple]] = {}
    for row in rows:
        by_journal.setdefault(row[0], []).append(row)
    journals = []
    for pk, postings in by_journal.items():
        if len(postings) != 2:  # a leg in an account of someone else
            continue
        out, into = sorted(postings, key=lambda p: p[5])  # the negative leg first
        journal = CashJournal(
            journal_id=pk,
            from_account_id=out[3],
            to_account_id=into[3],
            amount=into[5],
            currency=into[4],
            description=into[1],
            created_at=into[2],
        )
        if from_account is not None and journal.from_account_id != from_account:
            continue
        if to_account is not None and journal.to_account_id != to_account:
            continue
        journals.append(journal)
    return journals


def cash_journal_get(*, partner: Partner, journal_id: uuid.UUID) -> CashJournal:
    found = cash_journals_for(partner=partner, journal_id=journal_id)
    if not found:
        raise NotFound("journal_not_found", "journal not found")
    return found[0]
