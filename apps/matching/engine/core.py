"""The matching engine core: books, orders and the command loop of one shard.

Pure Python, deterministic: no Django, no I/O, no clock, no randomness. Prices are integer ticks,
quantities integer lots. Commands and events are plain tuples whose layouts are documented in
``docs/engine.md`` and named in ``commands.py`` / ``events.py``; tuples because they are the
cheapest thing CPython can build, and msgpack sends them as arrays with no conversion.

This module is self-contained on purpose (constants included) so that it can be compiled with
mypyc as a single extension module; ``commands.py`` and friends import from it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from heapq import heapify, heappop, heappush
from typing import Any, Final

# --- vocabulary (the same strings as apps.orders.choices / apps.instruments.choices) ---------

BUY: Final = "buy"
SELL: Final = "sell"

LIMIT: Final = "limit"
MARKET: Final = "market"
STOP: Final = "stop"
STOP_LIMIT: Final = "stop_limit"
ORDER_TYPES: Final = frozenset({LIMIT, MARKET, STOP, STOP_LIMIT})

DAY: Final = "day"
GTC: Final = "gtc"
GTD: Final = "gtd"
IOC: Final = "ioc"
FOK: Final = "fok"
OPG: Final = "opg"
CLS: Final = "cls"
TIME_IN_FORCE: Final = frozenset({DAY, GTC, GTD, IOC, FOK, OPG, CLS})
# The time in force as a small int on the order: the hot path tests it with integer compares
# (a str compare is a call, and a memcmp whenever two codes have the same length).
TIF_INVALID: Final = 0
TIF_GTC: Final = 1
TIF_DAY: Final = 2
TIF_IOC: Final = 3
TIF_FOK: Final = 4
TIF_GTD: Final = 5
TIF_OPG: Final = 6
TIF_CLS: Final = 7
TIF_NAMES: Final = ("", GTC, DAY, IOC, FOK, GTD, OPG, CLS)  # by code

CANCEL_NEWEST: Final = "cancel_newest"
CANCEL_OLDEST: Final = "cancel_oldest"
CANCEL_BOTH: Final = "cancel_both"
DECREMENT: Final = "decrement"
STP_MODES: Final = frozenset({CANCEL_NEWEST, CANCEL_OLDEST, CANCEL_BOTH, DECREMENT})

FIFO: Final = "fifo"
PRO_RATA: Final = "pro_rata"

PRE_OPEN: Final = "pre_open"
OPENING_AUCTION: Final = "opening_auction"
CONTINUOUS: Final = "continuous"
PRE_CLOSE: Final = "pre_close"
CLOSING_AUCTION: Final = "closing_auction"
CLOSED: Final = "closed"
HALTED: Final = "halted"
SESSION_STATES: Final = frozenset(
    {PRE_OPEN, OPENING_AUCTION, CONTINUOUS, PRE_CLOSE, CLOSING_AUCTION, CLOSED, HALTED}
)
# States in which incoming orders match; every other open state collects orders for a call.
MATCHING_STATES: Final = frozenset({CONTINUOUS, PRE_CLOSE})
CALL_STATES: Final = frozenset({PRE_OPEN, OPENING_AUCTION, CLOSING_AUCTION, HALTED})
# Calls that publish indicative price and imbalance after every change.
PUBLISHING_CALLS: Final = frozenset({OPENING_AUCTION, CLOSING_AUCTION})

# Command kinds (element 0 of a command tuple).
CMD_NEW: Final = "new"
CMD_CANCEL: Final = "cancel"
CMD_REPLACE: Final = "replace"
CMD_MASS_CANCEL: Final = "mass_cancel"
CMD_SESSION: Final = "set_session"
CMD_HALT: Final = "halt"
CMD_RESUME: Final = "resume"
CMD_EXPIRE: Final = "expire_orders"
CMD_INSTRUMENT: Final = "add_instrument"

# Event kinds (element 0 of an event tuple).
EV_ACCEPTED: Final = "accepted"
EV_REJECTED: Final = "rejected"
EV_TRADE: Final = "trade"
EV_CANCELED: Final = "canceled"
EV_REPLACED: Final = "replaced"
EV_TRIGGERED: Final = "triggered"
EV_EXPIRED: Final = "expired"
EV_BOOK: Final = "book"
EV_TOP: Final = "top"
EV_SESSION: Final = "session"
EV_INDICATIVE: Final = "indicative"
EV_AUCTION: Final = "auction"

# Reject reasons.
R_PRICE_OUTSIDE_BAND: Final = "price_outside_band"
R_POST_ONLY_WOULD_TAKE: Final = "post_only_would_take"
R_UNKNOWN_SYMBOL: Final = "unknown_symbol"
R_DUPLICATE_ORDER_ID: Final = "duplicate_order_id"
R_SESSION_CLOSED: Final = "session_closed"
R_INVALID_QUANTITY: Final = "invalid_quantity"
R_INVALID_PRICE: Final = "invalid_price"
R_INVALID_ORDER: Final = "invalid_order"
R_INVALID_EXPIRE_TIME: Final = "invalid_expire_time"
R_TIF_NOT_ALLOWED: Final = "tif_not_allowed_in_session"
R_TYPE_NOT_ALLOWED: Final = "order_type_not_allowed_in_session"
R_UNKNOWN_ORDER: Final = "unknown_order"
R_UNKNOWN_COMMAND: Final = "unknown_command"

# Cancel reasons.
C_USER: Final = "user"
C_IOC_REMAINDER: Final = "ioc_remainder"
C_FOK_UNFILLED: Final = "fok_unfilled"
C_MARKET_REMAINDER: Final = "market_remainder"
C_SELF_TRADE: Final = "self_trade"
C_HALT: Final = "halt"
C_MASS_CANCEL: Final = "mass_cancel"
C_REPLACE_TOO_SMALL: Final = "replace_too_small"

# Timestamps pass through the engine untouched into events; typed as Any so that the compiled
# core keeps the command's int object instead of unboxing it and boxing it again per event.
Nanos = Any

# A key below every real price key: "no limit" for market orders and absent bands.
NO_LIMIT: Final = -(1 << 62)

# How many new order ids the engine remembers at least (besides the ids of live orders) to drop
# re-sent orders: see Engine.seen and docs/engine.md ("Duplicates").
SEEN_WINDOW: Final = 1_000_000


def tif_code(tif: str) -> int:
    """The integer code of a time in force (TIF_INVALID for an unknown one)."""
    if tif == GTC:
        return TIF_GTC
    if tif == DAY:
        return TIF_DAY
    if tif == IOC:
        return TIF_IOC
    if tif == FOK:
        return TIF_FOK
    if tif == GTD:
        return TIF_GTD
    if tif == OPG:
        return TIF_OPG
    if tif == CLS:
        return TIF_CLS
    return TIF_INVALID


def percent_to_bp(pct: int | str) -> int:
    """Convert a percent given as int or decimal string ('7.5') to integer basis points."""
    if isinstance(pct, int):
        return pct * 100
    whole, _, frac = str(pct).strip().partition(".")
    frac = (frac + "00")[:2]
    bp = int(whole or "0") * 100 + int(frac)
    return bp


class InstrumentSpec:
    """What the engine needs to know about one instrument (integers only)."""

    __slots__ = (
        "algorithm",
        "band_high",
        "band_low",
        "dynamic_band_pct",
        "instrument_id",
        "reference_price",
        "self_trade_prevention",
        "session",
        "symbol",
    )

    def __init__(
        self,
        symbol: str,
        instrument_id: Any = None,
        band_low: int | None = None,
        band_high: int | None = None,
        algorithm: str = FIFO,
        self_trade_prevention: bool = True,
        reference_price: int | None = None,
        dynamic_band_pct: int | str | None = None,
        session: str = CONTINUOUS,
    ) -> None:
        if algorithm not in (FIFO, PRO_RATA):
            raise ValueError(f"unknown matching algorithm {algorithm!r}")
        if session not in SESSION_STATES:
            raise ValueError(f"unknown session state {session!r}")
        self.symbol = symbol
        self.instrument_id = instrument_id
        self.band_low = band_low
        self.band_high = band_high
        self.algorithm = algorithm
        self.self_trade_prevention = self_trade_prevention
        self.reference_price = reference_price
        self.dynamic_band_pct = dynamic_band_pct
        self.session = session

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "instrument_id": self.instrument_id,
            "band_low": self.band_low,
            "band_high": self.band_high,
            "algorithm": self.algorithm,
            "self_trade_prevention": self.self_trade_prevention,
            "reference_price": self.reference_price,
            "dynamic_band_pct": self.dynamic_band_pct,
            "session": self.session,
        }

    def __repr__(self) -> str:
        return f"InstrumentSpec({self.to_dict()!r})"


class Order:
    """A live order inside the engine.

    ``leaves`` is the open quantity; 0 marks an order that left its queue (queues are cleaned
    lazily, like the reference book, so a cancel is O(1)). ``peak`` is the iceberg display size
    (0 for a plain order) and ``shown`` the part of ``leaves`` currently displayed. ``side`` and
    ``tif`` are derived from ``is_buy`` and ``tif_code`` (fewer fields: a smaller object for
    the allocator, the caches and the collector); the flags are stored next to each other so
    that the compiled object packs them into one word.
    """

    __slots__ = (
        "account",
        "expire_ns",
        "hidden",
        "is_buy",
        "leaves",
        "level",
        "order_id",
        "order_type",
        "peak",
        "post_only",
        "price",
        "qty",
        "shown",
        "stop_price",
        "stp_mode",
        "tiebreak",
        "tif_code",
    )

    def __init__(
        self,
        order_id: Any,
        account: Any,
        side: str,
        order_type: str,
        tif: str,
        price: int | None,
        qty: int,
        leaves: int,
        stop_price: int | None,
        peak: int,
        hidden: bool,
        post_only: bool,
        expire_ns: int | None,
        stp_mode: str,
        tiebreak: int,
        tif_code: int,
    ) -> None:
        # (``tif`` is given for the readers of the signature; ``tif_code`` is what is kept.)
        self.order_id = order_id
        self.account = account
        self.is_buy = side == BUY
        self.hidden = hidden
        self.post_only = post_only
        self.tif_code = tif_code
        self.order_type = order_type
        self.price = price
        self.qty = qty
        self.leaves = leaves
        self.stop_price = stop_price
        self.peak = peak
        self.shown = 0
        self.expire_ns = expire_ns
        self.stp_mode = stp_mode
        self.level: Level | None = None
        self.tiebreak = tiebreak

    @property
    def side(self) -> str:
        return BUY if self.is_buy else SELL

    @property
    def tif(self) -> str:
        return TIF_NAMES[self.tif_code]

    def to_list(self) -> list[Any]:
        return [
            self.order_id,
            self.account,
            self.side,
            self.order_type,
            self.tif,
            self.price,
            self.qty,
            self.leaves,
            self.stop_price,
            self.peak,
            self.shown,
            self.hidden,
            self.post_only,
            self.expire_ns,
            self.stp_mode,
            self.tiebreak,
        ]

    @staticmethod
    def from_list(row: list[Any]) -> Order:
        o = Order(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[11],
            row[12],
            row[13],
            row[14],
            row[15],
            tif_code(row[4]),
        )
        o.shown = row[10]
        return o

    def __repr__(self) -> str:
        return (
            f"Order({self.order_id!r} {self.side} {self.leaves}/{self.qty} @ {self.price}"
            f" {self.order_type}/{self.tif})"
        )


class Level:
    """All orders resting at one price on one side: displayed queue first, hidden behind it.

    A queue is a list read from ``head``: taking the front is ``head += 1`` and joining the back
    is ``append``, both cheaper than deque method calls once compiled; the consumed prefix is
    dropped now and then (:func:`_compact`). Entries with ``leaves == 0`` left the book and are
    skipped.
    """

    __slots__ = (
        "count", "head", "hidden_count", "hidden_head", "hidden_queue", "price", "qty", "queue",
    )  # fmt: skip

    def __init__(self, price: Any) -> None:
        # Any, not int: the compiled core then keeps one int object per level for the events
        # (the price object of the order that opened the level) and for the lookup by price.
        self.price: Any = price
        self.queue: list[Order] = []
        self.head = 0
        self.hidden_queue: list[Order] | None = None
        self.hidden_head = 0
        self.qty = 0  # displayed quantity
        self.count = 0  # displayed orders
        self.hidden_count = 0

    def displayed(self) -> list[Order]:
        """Live displayed orders in time priority."""
        return [o for o in self.queue[self.head :] if o.leaves]

    def hidden(self) -> list[Order]:
        """Live hidden orders in time priority."""
        hq = self.hidden_queue
        return [] if hq is None else [o for o in hq[self.hidden_head :] if o.leaves]

    def live_orders(self) -> list[Order]:
        """Live orders in priority order (displayed, then hidden)."""
        return self.displayed() + self.hidden()


class BookSide:
    """One side of a book: its levels sorted best last, their sort keys, and levels by price.

    The sort key of a level is its price on the bid side and -price on the ask side, so on both
    sides the best level is ``lvls[-1]`` (an O(1) peek and pop, no hashing) and "crosses a
    limit" is the single integer test ``keys[-1] >= limit_key``. ``levels`` finds the level of
    a price (keyed by the price object the level holds, so no key is built for a lookup).
    """

    __slots__ = ("keys", "levels", "lvls", "side", "sign")

    def __init__(self, side: str) -> None:
        self.side = side
        self.sign = 1 if side == BUY else -1
        self.levels: dict[Any, Level] = {}
        self.keys: list[int] = []  # ascending: best last
        self.lvls: list[Level] = []  # the levels in the order of ``keys``

    def add_level(self, lvl: Level) -> None:
        """Insert a new level at its place (it must not be there yet)."""
        key: int = lvl.price if self.sign == 1 else -lvl.price
        keys = self.keys
        if not keys or keys[-1] < key:
            keys.append(key)
            self.lvls.append(lvl)
        else:
            i = bisect_left(keys, key)
            keys.insert(i, key)
            self.lvls.insert(i, lvl)
        self.levels[lvl.price] = lvl

    def remove_level(self, lvl: Level) -> None:
        """Take a level out (it must be there)."""
        key: int = lvl.price if self.sign == 1 else -lvl.price
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
            self.lvls.pop()
        else:
            i = bisect_left(keys, key)
            del keys[i]
            del self.lvls[i]
        del self.levels[lvl.price]


class Book:
    """The book of one instrument with its session state and price protection."""

    __slots__ = (
        "asks",
        "band_high",
        "band_low",
        "bids",
        "buy_stops",
        "call_buys",
        "call_sells",
        "dyn_bp",
        "dyn_high",
        "dyn_low",
        "held",
        "last_price",
        "market_buy_key",
        "market_sell_key",
        "matching",
        "opened",
        "orders",
        "pro_rata",
        "publishing",
        "reference_price",
        "sell_stops",
        "session",
        "spec",
        "stp",
        "symbol",
        "top_ask_px",
        "top_ask_qty",
        "top_bid_px",
        "top_bid_qty",
    )

    def __init__(self, spec: Any) -> None:
        self.symbol = spec.symbol
        self.spec = spec
        self.bids = BookSide(BUY)
        self.asks = BookSide(SELL)
        self.orders: dict[Any, Order] = {}
        self.pro_rata = spec.algorithm == PRO_RATA
        self.stp = bool(spec.self_trade_prevention)
        self.band_low: int | None = None
        self.band_high: int | None = None
        self.market_buy_key = NO_LIMIT
        self.market_sell_key = NO_LIMIT
        self.set_static_band(spec.band_low, spec.band_high)
        pct = spec.dynamic_band_pct
        self.dyn_bp = percent_to_bp(pct) if pct is not None else None
        self.dyn_low: int | None = None
        self.dyn_high: int | None = None
        self.reference_price = spec.reference_price
        self.last_price: int | None = None
        self.session = spec.session
        # Flags derived from the session, read on every order (cheaper than set lookups).
        self.matching = False
        self.publishing = False
        self.enter(spec.session)
        self.opened = self.matching
        # Pending stops, sorted so the next one to trigger is first: (stop key, tiebreak, order).
        self.buy_stops: list[tuple[int, int, Order]] = []
        self.sell_stops: list[tuple[int, int, Order]] = []
        # cls orders waiting for the closing auction call.
        self.held: list[Order] = []
        # Market orders waiting in a call (market-on-open / market-on-close), per side in time
        # priority: they have no price level and execute first at the uncross.
        self.call_buys: list[Order] = []
        self.call_sells: list[Order] = []
        # Any: the best level's own price object, compared by identity first.
        self.top_bid_px: Any = None
        self.top_bid_qty = 0
        self.top_ask_px: Any = None
        self.top_ask_qty = 0
        self.recenter_band()

    def set_static_band(self, low: int | None, high: int | None) -> None:
        """The static price band, and the limit keys market orders match up to (never beyond
        the band; no band: no limit)."""
        self.band_low = low
        self.band_high = high
        self.market_buy_key = -high if high is not None else NO_LIMIT
        self.market_sell_key = low if low is not None else NO_LIMIT

    def enter(self, state: str) -> None:
        """Set the session state and the flags derived from it."""
        self.session = state
        self.matching = state in (CONTINUOUS, PRE_CLOSE)
        self.publishing = state in (OPENING_AUCTION, CLOSING_AUCTION)

    def stops_pending(self) -> bool:
        return bool(self.buy_stops or self.sell_stops)

    def recenter_band(self) -> None:
        """Recompute the dynamic (LULD-style) band around the last price or the reference."""
        bp = self.dyn_bp
        ref = self.last_price if self.last_price is not None else self.reference_price
        if bp is None or ref is None:
            self.dyn_low = self.dyn_high = None
            return
        width = ref * bp // 10000
        self.dyn_low = ref - width
        self.dyn_high = ref + width

    def canonical_orders(self) -> list[Order]:
        """Every live order in a canonical order (bids best first, asks, stops, held, market
        orders of a call).

        Everything that walks many orders (close, mass cancel, snapshot) uses this order, never
        dict order, so that a restored engine emits the same events as the original.
        """
        result: list[Order] = []
        for bs in (self.bids, self.asks):
            for lvl in bs.lvls[::-1]:
                result.extend(lvl.live_orders())
        result.extend(entry[2] for entry in self.buy_stops)
        result.extend(entry[2] for entry in self.sell_stops)
        result.extend(self.held)
        result.extend(self.call_buys)
        result.extend(self.call_sells)
        return result

    def add_call_market(self, o: Order) -> None:
        """A market order joins the call (at the back of its side's market orders)."""
        (self.call_buys if o.is_buy else self.call_sells).append(o)


class Engine:
    """The matching engine of one shard: many instruments, one sequence of events.

    Feed commands (tuples, see ``commands.py``) to :meth:`process`; it returns the events the
    command caused, each numbered with the next shard sequence number and stamped with the
    command's ``ts_ns``. Re-sent new orders (an id already seen) are dropped without an event.

    The ids seen are kept in two generations so that they stay bounded: ``seen`` takes every new
    id; once it holds ``seen_window`` ids beyond those it started with, it becomes
    ``seen_prev`` (the older generation is forgotten) and a new ``seen`` starts with the ids of
    every live order. So an id is recognized while its order is live and for at least
    ``seen_window`` further new ids after that. The rule depends only on the commands, so a
    restored engine forgets exactly what the original did.
    """

    __slots__ = (
        "books", "gtd", "seen", "seen_base", "seen_prev", "seen_window", "seq", "shard",
        "tiebreak",
    )  # fmt: skip

    def __init__(self, shard: Any = 0, seq: int = 0, seen_window: int = SEEN_WINDOW) -> None:
        if seen_window < 1:
            raise ValueError("seen_window must be at least 1")
        self.shard = shard
        self.seq = seq
        self.books: dict[str, Book] = {}
        # Order ids seen, as dict keys rather than a set: CPython stops tracking a dict that
        # holds only atomic keys and values, so the collector never walks a million ids.
        self.seen: dict[Any, None] = {}
        self.seen_prev: dict[Any, None] = {}
        self.seen_base = 0  # ids of live orders that ``seen`` started with
        self.seen_window = seen_window
        # Arrival counter for deterministic ordering of stops and GTD expiry; never emitted.
        self.tiebreak = 0
        # Heap of (expire_ns, tiebreak, symbol, order) for GTD orders; stale entries skipped.
        self.gtd: list[tuple[int, int, str, Order]] = []

    # --- set-up --------------------------------------------------------------------------

    def register(self, spec: Any) -> None:
        """Add an instrument (no event). Registering a known symbol replaces its spec.

        ``spec`` is an :class:`InstrumentSpec` (typed Any so that the compiled engine also takes
        the interpreted module's class: only its attributes are read).
        """
        book = self.books.get(spec.symbol)
        if book is None:
            self.books[spec.symbol] = Book(spec)
            return
        book.spec = spec
        book.pro_rata = spec.algorithm == PRO_RATA
        book.stp = bool(spec.self_trade_prevention)
        book.set_static_band(spec.band_low, spec.band_high)
        pct = spec.dynamic_band_pct
        book.dyn_bp = percent_to_bp(pct) if pct is not None else None
        book.reference_price = spec.reference_price
        book.recenter_band()

    def book(self, symbol: str) -> Book:
        return self.books[symbol]

    # --- the command loop ----------------------------------------------------------------

    def process(self, cmd: tuple) -> list[tuple]:
        """Apply one command and return the events it caused, in sequence order."""
        out: list[tuple] = []
        kind = cmd[0]
        if not isinstance(kind, str):
            kind = ""  # falls through to unknown_command
        # kind is a str from here on: the compiled core compares it natively.
        if kind == CMD_NEW:
            self._new(cmd, out)
        elif kind == CMD_CANCEL:
            self._cancel(cmd, out)
        elif kind == CMD_REPLACE:
            self._replace(cmd, out)
        elif kind == CMD_MASS_CANCEL:
            self._mass_cancel(cmd, out)
        elif kind == CMD_SESSION:
            self._session_cmd(cmd, out)
        elif kind == CMD_HALT:
            self._halt_cmd(cmd, out)
        elif kind == CMD_RESUME:
            self._resume_cmd(cmd, out)
        elif kind == CMD_EXPIRE:
            self._expire_cmd(cmd, out)
        elif kind == CMD_INSTRUMENT:
            self._instrument_cmd(cmd)
        else:
            self.seq += 1
            out.append((EV_REJECTED, self.seq, cmd[1], None, None, None, R_UNKNOWN_COMMAND, kind))
        return out

    def process_many(self, cmds: Any) -> list[tuple]:
        """Apply commands in order; return all their events (one list for a stream batch)."""
        out: list[tuple] = []
        for cmd in cmds:
            out.extend(self.process(cmd))
        return out

    # --- new orders ----------------------------------------------------------------------

    def _reject(
        self, out: list, ts: Nanos, symbol: Any, oid: Any, account: Any, reason: str, request: str
    ) -> None:
        self.seq += 1
        out.append((EV_REJECTED, self.seq, ts, symbol, oid, account, reason, request))

    def _new(self, cmd: tuple, out: list) -> None:
        (
            _,
            ts,
            symbol,
            oid,
            account,
            side,
            order_type,
            tif,
            qty,
            price,
            stop_price,
            display,
            hidden,
            post_only,
            expire_ns,
            stp_mode,
        ) = cmd
        seen = self.seen
        if len(seen) - self.seen_base >= self.seen_window:
            seen = self._rotate_seen()
        known = len(seen)
        seen[oid] = None  # one hash lookup for "seen before?" and "remember it"
        if len(seen) == known:
            return  # a re-sent order (crash recovery): dropped on purpose, see docs/engine.md
        if self.seen_prev and oid in self.seen_prev:
            del seen[oid]
            return  # re-sent, and first seen in the previous generation
        book = self.books.get(symbol)
        if book is None:
            self._reject(out, ts, symbol, oid, account, R_UNKNOWN_SYMBOL, CMD_NEW)
            return
        if not (
            isinstance(side, str)
            and isinstance(order_type, str)
            and isinstance(tif, str)
            and (stp_mode is None or isinstance(stp_mode, str))
        ):
            self._reject(out, ts, symbol, oid, account, R_INVALID_ORDER, CMD_NEW)
            return
        # From here the enums are typed str (native string comparisons once compiled), and the
        # time in force an int code.
        tif_c = tif_code(tif)
        reason = self._check_new(
            book, ts, side, order_type, tif_c, qty, price, stop_price, display, hidden, post_only,
            expire_ns, stp_mode,
        )  # fmt: skip
        if reason is not None:
            self._reject(out, ts, symbol, oid, account, reason, CMD_NEW)
            return
        if order_type == LIMIT:
            stop = None
        else:
            if order_type == MARKET:
                price = None
            stop = stop_price if order_type in (STOP, STOP_LIMIT) else None
        peak = display if display and display < qty else 0
        tb = self.tiebreak = self.tiebreak + 1
        o = Order(
            oid, account, side, order_type, tif, price, qty, qty, stop, peak,
            hidden is True or bool(hidden), post_only is True or bool(post_only), expire_ns,
            stp_mode or CANCEL_NEWEST, tb, tif_c,
        )  # fmt: skip
        self.seq += 1
        out.append((EV_ACCEPTED, self.seq, ts, symbol, oid, account, side, price, qty))
        if tif_c == TIF_GTD:
            heappush(self.gtd, (expire_ns, tb, symbol, o))
        if stop is not None:
            self._add_stop(book, o)
            book.orders[oid] = o
            if book.matching:
                self._run_stops(book, ts, out)
        elif book.matching:
            if tif_c == TIF_CLS:
                book.held.append(o)
                book.orders[oid] = o
                return
            self._execute(book, o, ts, out)
            if book.buy_stops or book.sell_stops:
                self._run_stops(book, ts, out)
        else:
            if price is None:
                book.add_call_market(o)  # market-on-open / market-on-close
                book.orders[oid] = o
            else:
                self._rest(book, o, ts, out)
            if book.publishing:
                self._indicative(book, ts, out, EV_INDICATIVE)
        self._top(book, ts, out)

    def _rotate_seen(self) -> dict[Any, None]:
        """Start a new generation of seen ids (with the ids of the live orders); the current
        one becomes the previous one, and the previous one is forgotten."""
        live: dict[Any, None] = {}
        for book in self.books.values():
            for oid in book.orders:
                live[oid] = None
        self.seen_prev = self.seen
        self.seen = live
        self.seen_base = len(live)
        return live

    def _is_seen(self, oid: Any) -> bool:
        return oid in self.seen or oid in self.seen_prev

    def _check_new(
        self,
        book: Book,
        ts: Nanos,
        side: str,
        order_type: str,
        tif: int,
        qty: Any,
        price: Any,
        stop_price: Any,
        display: Any,
        hidden: Any,
        post_only: Any,
        expire_ns: Any,
        stp_mode: str | None,
    ) -> str | None:
        """Why this order must be rejected, or None. Pure: no state changes. ``tif`` is the
        time in force's code (:func:`tif_code`)."""
        if type(qty) is not int:
            return R_INVALID_QUANTITY
        lots: int = qty
        if lots <= 0:
            return R_INVALID_QUANTITY
        if side != BUY and side != SELL:
            return R_INVALID_ORDER
        # Plain comparisons, most common values first: cheaper than set lookups when compiled.
        if order_type == LIMIT:
            is_market = False
        elif order_type in (MARKET, STOP):
            is_market = True
        elif order_type == STOP_LIMIT:
            is_market = False
        else:
            return R_INVALID_ORDER
        if tif == TIF_INVALID:
            return R_INVALID_ORDER
        if stp_mode is not None and stp_mode != CANCEL_NEWEST and stp_mode not in STP_MODES:
            return R_INVALID_ORDER
        if display:
            if type(display) is not int:
                return R_INVALID_QUANTITY
            shown: int = display
            if shown < 0:
                return R_INVALID_QUANTITY
            if hidden:
                return R_INVALID_ORDER
        is_post_only = post_only is True or (post_only is not False and bool(post_only))
        ticks = 0
        if not is_market:
            if type(price) is not int:
                return R_INVALID_PRICE
            ticks = price
            if ticks <= 0:
                return R_INVALID_PRICE
            band_low = book.band_low
            band_high = book.band_high
            if (band_low is not None and ticks < band_low) or (
                band_high is not None and ticks > band_high
            ):
                return R_PRICE_OUTSIDE_BAND
        elif is_post_only or display or hidden:
            return R_INVALID_ORDER
        if order_type in (STOP, STOP_LIMIT):
            if type(stop_price) is not int:
                return R_INVALID_PRICE
            stop_ticks: int = stop_price
            if stop_ticks <= 0:
                return R_INVALID_PRICE
        if is_post_only and (tif in (TIF_IOC, TIF_FOK)):
            return R_INVALID_ORDER
        if tif == TIF_GTD:
            if type(expire_ns) is not int:
                return R_INVALID_EXPIRE_TIME
            expire: int = expire_ns
            if expire <= ts:
                return R_INVALID_EXPIRE_TIME
        if book.matching:
            if tif == TIF_OPG:
                return R_TIF_NOT_ALLOWED
            if tif == TIF_CLS and order_type == STOP:
                return R_TYPE_NOT_ALLOWED  # a stop cannot wait for the close
            if is_post_only and order_type == LIMIT and tif != TIF_CLS:
                keys = (book.asks if side == BUY else book.bids).keys
                if keys and keys[-1] >= (-ticks if side == BUY else ticks):
                    return R_POST_ONLY_WOULD_TAKE
            return None
        session = book.session
        if session == CLOSED:
            return R_SESSION_CLOSED
        # A call (pre-open, auction, halt): orders only rest, so nothing immediate is possible;
        # a market order waits only for the auction it names (market-on-open / -on-close).
        if order_type == MARKET and tif != TIF_OPG and tif != TIF_CLS:
            return R_TYPE_NOT_ALLOWED
        if tif in (TIF_IOC, TIF_FOK):
            return R_TIF_NOT_ALLOWED
        if tif == TIF_OPG and (book.opened or session not in (PRE_OPEN, OPENING_AUCTION)):
            return R_TIF_NOT_ALLOWED
        if tif == TIF_CLS and session != CLOSING_AUCTION:
            return R_TIF_NOT_ALLOWED
        return None

    def _execute(self, book: Book, o: Order, ts: Nanos, out: list) -> None:
        """Match an incoming (or triggered, or repriced) order, then rest or cancel the rest."""
        is_buy = o.is_buy
        opp = book.asks if is_buy else book.bids
        price = o.price
        limit_key: int
        if price is None:
            # A market order never trades outside the static band.
            limit_key = book.market_buy_key if is_buy else book.market_sell_key
        else:
            limit_key = -price if is_buy else price
        halt_key: int = NO_LIMIT
        if book.dyn_bp is not None:
            dyn_low = book.dyn_low
            dyn_high = book.dyn_high
            if dyn_low is not None and dyn_high is not None:
                halt_key = -dyn_high if is_buy else dyn_low
        tif = o.tif_code
        if tif == TIF_FOK and self._available(book, o, opp, limit_key, halt_key) < o.leaves:
            self._cancel_taker(book, o, ts, out, C_FOK_UNFILLED)
            return
        keys = opp.keys
        if keys and keys[-1] >= limit_key:
            if book.pro_rata:
                self._match_pro_rata(book, o, opp, limit_key, halt_key, ts, out)
            else:
                self._match(book, o, opp, limit_key, halt_key, ts, out)
        if not o.leaves:
            return
        if price is None:
            reason = C_HALT if book.session == HALTED else C_MARKET_REMAINDER
            self._cancel_taker(book, o, ts, out, reason)
        elif tif in (TIF_IOC, TIF_FOK):
            reason = C_HALT if book.session == HALTED else C_IOC_REMAINDER
            self._cancel_taker(book, o, ts, out, reason)
        else:
            self._rest(book, o, ts, out)

    def _cancel_taker(self, book: Book, o: Order, ts: Nanos, out: list, reason: str) -> None:
        leaves = o.leaves
        o.leaves = 0
        self.seq += 1
        out.append(
            (EV_CANCELED, self.seq, ts, book.symbol, o.order_id, o.account, reason, leaves, 0)
        )

    def _match(
        self,
        book: Book,
        o: Order,
        opp: BookSide,
        limit_key: int,
        halt_key: int,
        ts: Nanos,
        out: list,
    ) -> None:
        """Price-time matching of taker ``o`` against ``opp`` (the hot loop)."""
        keys = opp.keys
        lvls = opp.lvls
        remaining = o.leaves
        taker_id = o.order_id
        taker_account = o.account
        aggressor = BUY if o.is_buy else SELL
        stp_on = book.stp and taker_account is not None
        symbol = book.symbol
        book_orders = book.orders
        book_side = opp.side
        seq = self.seq
        last: Any = None
        while remaining and keys:
            key = keys[-1]
            if key < limit_key:
                break
            if key < halt_key:
                # The print would leave the dynamic band: halt instead (LULD style).
                self.seq = seq
                self._set_session(book, HALTED, ts, out, "luld")
                seq = self.seq
                break
            lvl = lvls[-1]
            px = lvl.price
            had_count = lvl.count
            q = lvl.queue
            h = lvl.head
            while remaining and h < len(q):
                m = q[h]
                ml = m.leaves
                if not ml:
                    h += 1  # left earlier (canceled / replaced): lazy cleanup
                    continue
                if stp_on and m.account == taker_account:
                    self.seq = seq
                    o.leaves = remaining
                    self._self_trade(book, o, m, lvl, ts, out)
                    remaining = o.leaves
                    seq = self.seq
                    continue
                peak = m.peak
                if peak:
                    shown = m.shown
                    fill = shown if shown < remaining else remaining
                    remaining -= fill
                    ml -= fill
                    m.leaves = ml
                    seq += 1
                    out.append((EV_TRADE, seq, ts, symbol, px, fill, aggressor, taker_id,
                                taker_account, remaining, m.order_id, m.account, ml))  # fmt: skip
                    shown -= fill
                    if not ml:
                        h += 1
                        lvl.count -= 1
                        lvl.qty -= fill
                        del book_orders[m.order_id]
                        m.level = None
                    elif not shown:
                        # Iceberg refill: a new slice goes to the back of the level.
                        shown = peak if peak < ml else ml
                        m.shown = shown
                        h += 1
                        q.append(m)
                        lvl.qty += shown - fill
                    else:
                        m.shown = shown
                        lvl.qty -= fill
                else:
                    fill = ml if ml < remaining else remaining
                    remaining -= fill
                    ml -= fill
                    m.leaves = ml
                    lvl.qty -= fill
                    seq += 1
                    out.append((EV_TRADE, seq, ts, symbol, px, fill, aggressor, taker_id,
                                taker_account, remaining, m.order_id, m.account, ml))  # fmt: skip
                    if not ml:
                        h += 1
                        lvl.count -= 1
                        del book_orders[m.order_id]
                        m.level = None
                last = px
            lvl.head = h
            if remaining and lvl.hidden_count:
                hq = lvl.hidden_queue
                assert hq is not None
                h = lvl.hidden_head
                while remaining and h < len(hq):
                    m = hq[h]
                    ml = m.leaves
                    if not ml:
                        h += 1
                        continue
                    if stp_on and m.account == taker_account:
                        self.seq = seq
                        o.leaves = remaining
                        self._self_trade(book, o, m, lvl, ts, out)
                        remaining = o.leaves
                        seq = self.seq
                        continue
                    fill = ml if ml < remaining else remaining
                    remaining -= fill
                    ml -= fill
                    m.leaves = ml
                    seq += 1
                    out.append((EV_TRADE, seq, ts, symbol, px, fill, aggressor, taker_id,
                                taker_account, remaining, m.order_id, m.account, ml))  # fmt: skip
                    if not ml:
                        h += 1
                        lvl.hidden_count -= 1
                        del book_orders[m.order_id]
                        m.level = None
                    last = px
                lvl.hidden_head = h
            if not lvl.count and not lvl.hidden_count:
                keys.pop()
                lvls.pop()
                del opp.levels[px]
            elif lvl.head > 32:
                _compact(lvl)
            if had_count or lvl.count:
                seq += 1
                out.append((EV_BOOK, seq, ts, symbol, book_side, px, lvl.qty, lvl.count))
        o.leaves = remaining
        self.seq = seq
        if last is not None:
            book.last_price = last
            if book.dyn_bp is not None:
                book.recenter_band()

    def _self_trade(self, book: Book, taker: Order, maker: Order, lvl: Level, ts: Nanos, out: list):
        """Apply the taker's self-trade prevention mode against its own resting order."""
        mode = taker.stp_mode
        symbol = book.symbol
        if mode in (CANCEL_OLDEST, CANCEL_BOTH):
            leaves = maker.leaves
            self._detach(book, maker)
            self.seq += 1
            out.append((EV_CANCELED, self.seq, ts, symbol, maker.order_id, maker.account,
                        C_SELF_TRADE, leaves, 0))  # fmt: skip
            if mode == CANCEL_BOTH:
                self._cancel_taker(book, taker, ts, out, C_SELF_TRADE)
        elif mode == DECREMENT:
            cut = min(taker.leaves, maker.leaves)
            if cut == maker.leaves:
                self._detach(book, maker)
                self.seq += 1
                out.append((EV_CANCELED, self.seq, ts, symbol, maker.order_id, maker.account,
                            C_SELF_TRADE, cut, 0))  # fmt: skip
            else:
                ml = maker.leaves - cut
                if not maker.hidden:
                    shown = maker.shown if maker.peak else maker.leaves
                    new_shown = min(shown, ml)
                    if maker.peak:
                        maker.shown = new_shown
                    lvl.qty -= shown - new_shown
                maker.leaves = ml
                maker.qty -= cut
                self.seq += 1
                out.append((EV_CANCELED, self.seq, ts, symbol, maker.order_id, maker.account,
                            C_SELF_TRADE, cut, ml))  # fmt: skip
            tl = taker.leaves - cut
            taker.qty -= cut
            taker.leaves = tl
            self.seq += 1
            out.append((EV_CANCELED, self.seq, ts, symbol, taker.order_id, taker.account,
                        C_SELF_TRADE, cut, tl))  # fmt: skip
        else:  # cancel newest: the incoming order goes, the resting one keeps its place
            self._cancel_taker(book, taker, ts, out, C_SELF_TRADE)

    def _detach(self, book: Book, o: Order) -> None:
        """Take a resting order out of its level's accounting (the level itself stays)."""
        lvl = o.level
        if lvl is not None:
            if o.hidden:
                lvl.hidden_count -= 1
            else:
                lvl.count -= 1
                lvl.qty -= o.shown if o.peak else o.leaves
            o.level = None
        o.leaves = 0
        del book.orders[o.order_id]

    def _match_pro_rata(
        self,
        book: Book,
        o: Order,
        opp: BookSide,
        limit_key: Any,
        halt_key: Any,
        ts: Nanos,
        out: list,
    ) -> None:
        """Pro-rata matching: each level's displayed orders share the fill in proportion to
        their displayed size (rounded down), the remainder goes in time priority; hidden orders
        are filled after, in time priority."""
        keys = opp.keys
        stp_on = book.stp and o.account is not None
        last = None
        while o.leaves and keys:
            key = keys[-1]
            if key < limit_key:
                break
            if key < halt_key:
                self._set_session(book, HALTED, ts, out, "luld")
                break
            lvl = opp.lvls[-1]
            px = lvl.price
            had_count = lvl.count
            if stp_on:
                for m in lvl.live_orders():
                    if m.account == o.account and o.leaves:
                        self._self_trade(book, o, m, lvl, ts, out)
                if not o.leaves:
                    self._drop_level_if_empty(opp, lvl)
                    if had_count or lvl.count:
                        self._book_delta(book, opp, lvl, ts, out)
                    break
            shown = lvl.displayed()
            avail = [m.shown if m.peak else m.leaves for m in shown]
            total = sum(avail)
            remaining = o.leaves
            if total:
                if remaining >= total:
                    alloc = avail
                else:
                    alloc = [remaining * a // total for a in avail]
                    spare = remaining - sum(alloc)
                    for i, a in enumerate(avail):
                        if not spare:
                            break
                        extra = min(spare, a - alloc[i])
                        alloc[i] += extra
                        spare -= extra
                refilled: list[Order] = []
                for m, fill in zip(shown, alloc, strict=True):
                    if fill:
                        self._fill_maker(book, o, m, lvl, px, fill, ts, out, refilled)
                        last = px
                kept = [m for m in shown if m.leaves and m not in refilled]
                lvl.queue = kept + refilled
                lvl.head = 0
            for m in lvl.hidden():
                if not o.leaves:
                    break
                fill = min(m.leaves, o.leaves)
                self._fill_maker(book, o, m, lvl, px, fill, ts, out, None)
                last = px
            self._drop_level_if_empty(opp, lvl)
            if had_count or lvl.count:
                self._book_delta(book, opp, lvl, ts, out)
        if last is not None:
            book.last_price = last
            if book.dyn_bp is not None:
                book.recenter_band()

    def _fill_maker(
        self,
        book: Book,
        taker: Order,
        m: Order,
        lvl: Level,
        px: int,
        fill: int,
        ts: Nanos,
        out: list,
        refilled: list[Order] | None,
    ) -> None:
        """One fill of a resting order (not the hot path: pro-rata and auctions use it)."""
        taker.leaves -= fill
        ml = m.leaves - fill
        m.leaves = ml
        self.seq += 1
        out.append((EV_TRADE, self.seq, ts, book.symbol, px, fill, taker.side, taker.order_id,
                    taker.account, taker.leaves, m.order_id, m.account, ml))  # fmt: skip
        self._after_maker_fill(book, m, lvl, fill, refilled)

    def _after_maker_fill(
        self, book: Book, m: Order, lvl: Level, fill: int, refilled: list[Order] | None
    ) -> None:
        ml = m.leaves
        if m.hidden:
            if not ml:
                lvl.hidden_count -= 1
        elif m.peak:
            shown = m.shown - fill
            if not ml:
                lvl.count -= 1
                lvl.qty -= fill
                m.shown = 0
            elif shown <= 0:
                new_shown = m.peak if m.peak < ml else ml
                lvl.qty += new_shown - fill
                m.shown = new_shown
                if refilled is not None:
                    refilled.append(m)
            else:
                m.shown = shown
                lvl.qty -= fill
        else:
            lvl.qty -= fill
            if not ml:
                lvl.count -= 1
        if not ml:
            del book.orders[m.order_id]
            m.level = None

    def _available(self, book: Book, o: Order, opp: BookSide, limit_key: int, halt_key: int):
        """Quantity a fill-or-kill order could take right now without leaving its limit or
        the dynamic band; self-trade stops the count unless the mode cancels the resting side."""
        need = o.leaves
        stp_on = book.stp and o.account is not None
        # cancel_oldest clears own resting orders and goes on; every other mode stops there.
        stops_at_own = o.stp_mode != CANCEL_OLDEST
        total = 0
        for key, lvl in zip(opp.keys[::-1], opp.lvls[::-1], strict=True):
            if key < limit_key or key < halt_key:
                break
            for m in lvl.live_orders():
                if stp_on and m.account == o.account:
                    if stops_at_own:
                        return total
                    continue
                total += m.leaves
                if total >= need:
                    return total
        return total

    def _rest(self, book: Book, o: Order, ts: Nanos, out: list) -> None:
        """Put an order at the back of its price level."""
        # Any: the order's own price object is the lookup key (an int | None narrowed to int
        # would be unboxed and boxed again, a new object, when compiled).
        price: Any = o.price
        assert price is not None
        bs = book.bids if o.is_buy else book.asks
        lvl = bs.levels.get(price)
        if lvl is None:
            lvl = Level(price)
            bs.add_level(lvl)
        o.level = lvl
        book.orders[o.order_id] = o
        if o.hidden:
            hq = lvl.hidden_queue
            if hq is None:
                hq = []
                lvl.hidden_queue = hq
            hq.append(o)
            lvl.hidden_count += 1
            return
        peak = o.peak
        shown = o.leaves if not peak else (peak if peak < o.leaves else o.leaves)
        o.shown = shown
        lvl.queue.append(o)
        lvl.count += 1
        lvl.qty += shown
        self.seq += 1
        out.append((EV_BOOK, self.seq, ts, book.symbol, bs.side, lvl.price, lvl.qty, lvl.count))

    def _drop_level_if_empty(self, bs: BookSide, lvl: Level) -> None:
        if not lvl.count and not lvl.hidden_count and bs.levels.get(lvl.price) is lvl:
            bs.remove_level(lvl)

    def _book_delta(self, book: Book, bs: BookSide, lvl: Level, ts: Nanos, out: list) -> None:
        self.seq += 1
        out.append((EV_BOOK, self.seq, ts, book.symbol, bs.side, lvl.price, lvl.qty, lvl.count))

    def _top(self, book: Book, ts: Nanos, out: list) -> None:
        """Emit top of book if the best displayed bid or ask (price or size) changed."""
        bid_px: Any = None
        ask_px: Any = None
        bid_qty = ask_qty = 0
        lvls = book.bids.lvls
        if lvls:
            best = lvls[-1]
            if best.count:
                bid_px = best.price
                bid_qty = best.qty
            else:
                found = _best_displayed(book.bids)
                if found is not None:
                    bid_px = found.price
                    bid_qty = found.qty
        lvls = book.asks.lvls
        if lvls:
            best = lvls[-1]
            if best.count:
                ask_px = best.price
                ask_qty = best.qty
            else:
                found = _best_displayed(book.asks)
                if found is not None:
                    ask_px = found.price
                    ask_qty = found.qty
        # Identity first: the best level's price object rarely changes between commands.
        if (
            bid_qty != book.top_bid_qty
            or ask_qty != book.top_ask_qty
            or (bid_px is not book.top_bid_px and bid_px != book.top_bid_px)
            or (ask_px is not book.top_ask_px and ask_px != book.top_ask_px)
        ):
            book.top_bid_px = bid_px
            book.top_bid_qty = bid_qty
            book.top_ask_px = ask_px
            book.top_ask_qty = ask_qty
            self.seq += 1
            out.append((EV_TOP, self.seq, ts, book.symbol, bid_px, bid_qty, ask_px, ask_qty))

    # --- stops ---------------------------------------------------------------------------

    def _add_stop(self, book: Book, o: Order) -> None:
        # Buy stops trigger lowest stop first, sell stops highest first.
        sp: int = o.stop_price  # type: ignore[assignment]
        if o.is_buy:
            insort(book.buy_stops, (sp, o.tiebreak, o))
        else:
            insort(book.sell_stops, (-sp, o.tiebreak, o))

    def _remove_stop(self, book: Book, o: Order) -> bool:
        stops = book.buy_stops if o.is_buy else book.sell_stops
        for i, entry in enumerate(stops):
            if entry[2] is o:
                del stops[i]
                return True
        return False

    def _run_stops(self, book: Book, ts: Nanos, out: list) -> None:
        """Trigger every stop the last trade price has reached, one at a time: each triggered
        order trades and moves the last price, which may trigger the next (a cascade)."""
        while book.matching:
            last = book.last_price
            if last is None:
                return
            buy_stops = book.buy_stops
            sell_stops = book.sell_stops
            if buy_stops and buy_stops[0][0] <= last:
                o = buy_stops.pop(0)[2]
            elif sell_stops and -sell_stops[0][0] >= last:
                o = sell_stops.pop(0)[2]
            else:
                return
            del book.orders[o.order_id]
            self.seq += 1
            out.append((EV_TRIGGERED, self.seq, ts, book.symbol, o.order_id, o.account,
                        o.stop_price, last))  # fmt: skip
            o.stop_price = None
            o.order_type = MARKET if o.order_type == STOP else LIMIT
            o.tiebreak = self.tiebreak = self.tiebreak + 1
            self._execute(book, o, ts, out)

    # --- cancel / replace / mass cancel --------------------------------------------------

    def _unlink(self, book: Book, o: Order, ts: Nanos, out: list) -> None:
        """Remove a live order from wherever it waits (level, stops, held) and publish depth."""
        lvl = o.level
        if lvl is not None:
            hidden = o.hidden
            self._detach(book, o)
            bs = book.bids if o.is_buy else book.asks
            self._drop_level_if_empty(bs, lvl)
            if hidden:
                hq = lvl.hidden_queue
                if hq is not None and len(hq) - lvl.hidden_head > 2 * lvl.hidden_count + 8:
                    _sweep_hidden(lvl)
            else:
                if len(lvl.queue) - lvl.head > lvl.count + (lvl.count >> 1) + 8:
                    _sweep(lvl)
                self._book_delta(book, bs, lvl, ts, out)
            return
        if not self._remove_stop(book, o):
            if o in book.held:
                book.held.remove(o)
            else:
                calls = book.call_buys if o.is_buy else book.call_sells
                if o in calls:
                    calls.remove(o)
        o.leaves = 0
        del book.orders[o.order_id]

    def _after_book_change(self, book: Book, ts: Nanos, out: list) -> None:
        if book.publishing:
            self._indicative(book, ts, out, EV_INDICATIVE)
        self._top(book, ts, out)

    def _cancel(self, cmd: tuple, out: list) -> None:
        _, ts, symbol, oid, account = cmd
        book = self.books.get(symbol)
        if book is None:
            self._reject(out, ts, symbol, oid, account, R_UNKNOWN_SYMBOL, CMD_CANCEL)
            return
        o = book.orders.get(oid)
        if o is None or (account is not None and o.account != account):
            self._reject(out, ts, symbol, oid, account, R_UNKNOWN_ORDER, CMD_CANCEL)
            return
        self.seq += 1
        out.append((EV_CANCELED, self.seq, ts, symbol, oid, o.account, C_USER, o.leaves, 0))
        self._unlink(book, o, ts, out)
        self._after_book_change(book, ts, out)

    def _replace(self, cmd: tuple, out: list) -> None:
        _, ts, symbol, oid, account, qty, price, new_oid, stop_price = cmd
        book = self.books.get(symbol)
        if book is None:
            self._reject(out, ts, symbol, oid, account, R_UNKNOWN_SYMBOL, CMD_REPLACE)
            return
        o = book.orders.get(oid)
        if new_oid is not None and new_oid != oid and self._is_seen(new_oid):
            if o is None:
                return  # the same replace re-sent after it was applied: drop it silently
            self._reject(out, ts, symbol, oid, account, R_DUPLICATE_ORDER_ID, CMD_REPLACE)
            return
        if o is None or (account is not None and o.account != account):
            self._reject(out, ts, symbol, oid, account, R_UNKNOWN_ORDER, CMD_REPLACE)
            return
        if price is None or o.order_type == MARKET:
            price = o.price  # a market order (waiting for an auction) stays without a price
        if stop_price is None:
            stop_price = o.stop_price
        if type(qty) is not int or qty <= 0:
            self._reject(out, ts, symbol, oid, account, R_INVALID_QUANTITY, CMD_REPLACE)
            return
        if o.order_type != MARKET and o.order_type != STOP:
            if type(price) is not int or price <= 0:
                self._reject(out, ts, symbol, oid, account, R_INVALID_PRICE, CMD_REPLACE)
                return
            if (book.band_low is not None and price < book.band_low) or (
                book.band_high is not None and price > book.band_high
            ):
                self._reject(out, ts, symbol, oid, account, R_PRICE_OUTSIDE_BAND, CMD_REPLACE)
                return
        if stop_price is not None and (type(stop_price) is not int or stop_price <= 0):
            self._reject(out, ts, symbol, oid, account, R_INVALID_PRICE, CMD_REPLACE)
            return
        matching = book.matching
        if (
            o.post_only
            and matching
            and o.level is not None
            and price != o.price
            and _crosses(book, o.side, price)
        ):
            self._reject(out, ts, symbol, oid, account, R_POST_ONLY_WOULD_TAKE, CMD_REPLACE)
            return
        new_id = oid if new_oid is None else new_oid
        if new_id != oid:
            self.seen[new_id] = None
        filled = o.qty - o.leaves
        if qty <= filled:
            leaves = o.leaves
            self.seq += 1
            out.append((EV_CANCELED, self.seq, ts, symbol, oid, o.account, C_REPLACE_TOO_SMALL,
                        leaves, 0))  # fmt: skip
            self._unlink(book, o, ts, out)
            self._after_book_change(book, ts, out)
            return
        new_leaves = qty - filled
        keeps_priority = price == o.price and new_leaves <= o.leaves
        lvl = o.level
        if lvl is not None and keeps_priority:
            # Same price, not larger: change in place and keep the place in the queue.
            before = after = 0
            if not o.hidden:
                before = o.shown if o.peak else o.leaves
                after = min(o.shown, new_leaves) if o.peak else new_leaves
                lvl.qty += after - before
                o.shown = after
            o.leaves = new_leaves
            o.qty = qty
            if new_id != oid:
                del book.orders[oid]
                o.order_id = new_id
                book.orders[new_id] = o
            self._emit_replaced(book, o, oid, new_id, True, ts, out)
            if after != before:
                bs = book.bids if o.is_buy else book.asks
                self._book_delta(book, bs, lvl, ts, out)
            self._after_book_change(book, ts, out)
            return
        if lvl is None:
            # A pending stop, a held cls order or a market order waiting in a call.
            was_stop = self._remove_stop(book, o)
            calls = book.call_buys if o.is_buy else book.call_sells
            in_call = not was_stop and o.price is None and o in calls
            # In a call's market orders, a decrease keeps the place and an increase loses it.
            kept = in_call and new_leaves <= o.leaves
            if in_call and not kept:
                calls.remove(o)
                calls.append(o)
                o.tiebreak = self.tiebreak = self.tiebreak + 1
            del book.orders[oid]
            o.order_id = new_id
            o.qty = qty
            o.leaves = new_leaves
            o.price = price
            book.orders[new_id] = o
            if was_stop:
                o.stop_price = stop_price
                o.tiebreak = self.tiebreak = self.tiebreak + 1
                self._add_stop(book, o)
            self._emit_replaced(book, o, oid, new_id, kept, ts, out)
            if was_stop and matching:
                self._run_stops(book, ts, out)
            if in_call and book.publishing:
                self._indicative(book, ts, out, EV_INDICATIVE)
            self._top(book, ts, out)
            return
        # Price change or increase: the order loses its place and re-enters as if new.
        self._unlink(book, o, ts, out)
        tb = self.tiebreak = self.tiebreak + 1
        n = Order(
            new_id, o.account, o.side, o.order_type, o.tif, price, qty, new_leaves, None, o.peak,
            o.hidden, o.post_only, o.expire_ns, o.stp_mode, tb, o.tif_code,
        )  # fmt: skip
        if n.tif_code == TIF_GTD and n.expire_ns is not None:
            heappush(self.gtd, (n.expire_ns, tb, symbol, n))
        self._emit_replaced(book, n, oid, new_id, False, ts, out)
        if matching:
            self._execute(book, n, ts, out)
            if book.stops_pending():
                self._run_stops(book, ts, out)
        else:
            self._rest(book, n, ts, out)
        self._after_book_change(book, ts, out)

    def _emit_replaced(
        self, book: Book, o: Order, oid: Any, new_id: Any, kept: bool, ts: Nanos, out: list
    ) -> None:
        self.seq += 1
        out.append((EV_REPLACED, self.seq, ts, book.symbol, oid, new_id, o.account, o.price,
                    o.qty, o.leaves, kept))  # fmt: skip

    def _mass_cancel(self, cmd: tuple, out: list) -> None:
        _, ts, symbol, account = cmd[:4]
        if symbol is not None:
            book = self.books.get(symbol)
            if book is None:
                self._reject(out, ts, symbol, None, account, R_UNKNOWN_SYMBOL, CMD_MASS_CANCEL)
                return
            books = [book]
        else:
            books = list(self.books.values())
        for book in books:
            victims = [
                o for o in book.canonical_orders() if account is None or o.account == account
            ]
            if not victims:
                continue
            for o in victims:
                self.seq += 1
                out.append((EV_CANCELED, self.seq, ts, book.symbol, o.order_id, o.account,
                            C_MASS_CANCEL, o.leaves, 0))  # fmt: skip
                self._unlink(book, o, ts, out)
            self._after_book_change(book, ts, out)

    # --- expiry --------------------------------------------------------------------------

    def _expire(self, book: Book, o: Order, reason: str, ts: Nanos, out: list) -> None:
        self.seq += 1
        out.append((EV_EXPIRED, self.seq, ts, book.symbol, o.order_id, o.account, reason,
                    o.leaves))  # fmt: skip
        self._unlink(book, o, ts, out)

    def _expire_cmd(self, cmd: tuple, out: list) -> None:
        ts = cmd[1]
        heap = self.gtd
        touched: list[Book] = []
        while heap and heap[0][0] <= ts:
            _, _, symbol, o = heappop(heap)
            book = self.books.get(symbol)
            if book is None or not o.leaves or book.orders.get(o.order_id) is not o:
                continue  # already gone, or replaced by a newer entry
            self._expire(book, o, GTD, ts, out)
            if book not in touched:
                touched.append(book)
        for book in touched:
            self._after_book_change(book, ts, out)

    # --- sessions, auctions, halts -------------------------------------------------------

    def _set_session(self, book: Book, state: str, ts: Nanos, out: list, reason: str) -> None:
        book.enter(state)
        self.seq += 1
        out.append((EV_SESSION, self.seq, ts, book.symbol, state, reason))

    def _session_cmd(self, cmd: tuple, out: list) -> None:
        _, ts, symbol, state = cmd[:4]
        if state not in SESSION_STATES:
            self._reject(out, ts, symbol, None, None, R_INVALID_ORDER, CMD_SESSION)
            return
        if symbol is None:
            books = list(self.books.values())
        else:
            book = self.books.get(symbol)
            if book is None:
                self._reject(out, ts, symbol, None, None, R_UNKNOWN_SYMBOL, CMD_SESSION)
                return
            books = [book]
        for book in books:
            self._change_session(book, state, ts, out, "schedule")

    def _change_session(self, book: Book, state: str, ts: Nanos, out: list, reason: str) -> None:
        old = book.session
        if state == old:
            return
        # Opening from a call uncrosses it; so does opening a closed book that crossed orders
        # still rest in (a call closed without its auction): continuous trading never starts
        # from a crossed book.
        uncross = (
            state in MATCHING_STATES
            and (old in CALL_STATES or (old == CLOSED and self._auction_price(book)[1] > 0))
        ) or (state == CLOSED and old == CLOSING_AUCTION)
        if uncross:
            self._uncross(book, ts, out)
            self._cancel_call_markets(book, ts, out)
            if old in (PRE_OPEN, OPENING_AUCTION):
                for o in book.canonical_orders():
                    if o.tif_code == TIF_OPG:
                        self._expire(book, o, OPG, ts, out)
            elif old == CLOSING_AUCTION:
                for o in book.canonical_orders():
                    if o.tif_code == TIF_CLS:
                        self._expire(book, o, CLS, ts, out)
        self._set_session(book, state, ts, out, reason)
        if state in MATCHING_STATES:
            book.opened = True
        if state == CLOSING_AUCTION:
            # At-the-close orders held during the day join the call now.
            held = book.held
            book.held = []
            for o in held:
                if o.price is None:
                    book.add_call_market(o)
                else:
                    self._rest(book, o, ts, out)
                    _move_to_arrival_place(o)
        if state == CLOSED:
            for o in book.canonical_orders():
                tif = o.tif
                if tif in (DAY, OPG, CLS):
                    self._expire(book, o, tif, ts, out)
            book.opened = False
        if state in PUBLISHING_CALLS:
            self._indicative(book, ts, out, EV_INDICATIVE)
        elif state in MATCHING_STATES and book.stops_pending():
            self._run_stops(book, ts, out)
        self._top(book, ts, out)

    def _halt_cmd(self, cmd: tuple, out: list) -> None:
        _, ts, symbol = cmd[:3]
        reason = cmd[3] if len(cmd) > 3 and cmd[3] else "halt"
        book = self.books.get(symbol)
        if book is None:
            self._reject(out, ts, symbol, None, None, R_UNKNOWN_SYMBOL, CMD_HALT)
            return
        if book.session != HALTED:
            self._set_session(book, HALTED, ts, out, reason)

    def _resume_cmd(self, cmd: tuple, out: list) -> None:
        _, ts, symbol = cmd[:3]
        book = self.books.get(symbol)
        if book is None:
            self._reject(out, ts, symbol, None, None, R_UNKNOWN_SYMBOL, CMD_RESUME)
            return
        if book.session != HALTED:
            return
        # Reopen through a call: the book may be crossed, only an auction can clear it fairly.
        self._set_session(book, OPENING_AUCTION, ts, out, "resume")
        self._indicative(book, ts, out, EV_INDICATIVE)
        self._top(book, ts, out)

    def _instrument_cmd(self, cmd: tuple) -> None:
        _, _ts, fields = cmd[:3]
        self.register(InstrumentSpec(**fields))

    def _auction_price(self, book: Book) -> tuple[int | None, int, int, str | None]:
        """Price maximizing executed volume, then minimizing imbalance, then nearest the
        reference (last trade, else the instrument's reference), then the lower price."""
        bid_levels = [
            (lvl.price, sum(o.leaves for o in lvl.live_orders())) for lvl in book.bids.lvls[::-1]
        ]
        ask_levels = [
            (lvl.price, sum(o.leaves for o in lvl.live_orders())) for lvl in book.asks.lvls[::-1]
        ]
        # Market orders of the call take any price: they count at every candidate price.
        market_buys = sum(o.leaves for o in book.call_buys)
        market_sells = sum(o.leaves for o in book.call_sells)
        ref = book.last_price if book.last_price is not None else book.reference_price
        prices = sorted({p for p, _ in bid_levels} | {p for p, _ in ask_levels})
        if not prices and market_buys and market_sells and ref is not None:
            prices = [ref]  # only market orders: they meet at the reference price
        # Cumulative volumes: buys at or above p, sells at or below p.
        buy_at: dict[int, int] = {}
        cum = market_buys
        bi = 0
        for p in prices[::-1]:
            while bi < len(bid_levels) and bid_levels[bi][0] >= p:
                cum += bid_levels[bi][1]
                bi += 1
            buy_at[p] = cum
        best: tuple[int, int, int, int] | None = None
        best_p = 0
        cum = market_sells
        ai = 0
        for p in prices:
            while ai < len(ask_levels) and ask_levels[ai][0] <= p:
                cum += ask_levels[ai][1]
                ai += 1
            bv = buy_at[p]
            exe = min(bv, cum)
            if not exe:
                continue
            rank = (-exe, abs(bv - cum), abs(p - ref) if ref is not None else 0, p)
            if best is None or rank < best:
                best = rank
                best_p = p
        if best is None:
            return None, 0, 0, None
        exe = -best[0]
        imbalance = buy_at[best_p] - market_sells - _sell_volume(ask_levels, best_p)
        side = BUY if imbalance > 0 else (SELL if imbalance < 0 else None)
        return best_p, exe, abs(imbalance), side

    def _indicative(self, book: Book, ts: Nanos, out: list, kind: str) -> None:
        price, matched, imbalance, side = self._auction_price(book)
        self.seq += 1
        out.append((kind, self.seq, ts, book.symbol, price, matched, imbalance, side))

    def _uncross(self, book: Book, ts: Nanos, out: list) -> None:
        """Execute the call at one price: best-priced buys against best-priced sells, time
        priority within a price. Taker is the buy order, maker the sell; no aggressor."""
        price, matched, imbalance, side = self._auction_price(book)
        if price is not None and matched:
            # Market orders first (in time priority), then limits best price first.
            buys: list[tuple[Order, Level | None]] = [(o, None) for o in book.call_buys]
            buys.extend(
                (o, lvl)
                for lvl in book.bids.lvls[::-1]
                if lvl.price >= price
                for o in lvl.live_orders()
            )
            sells: list[tuple[Order, Level | None]] = [(o, None) for o in book.call_sells]
            sells.extend(
                (o, lvl)
                for lvl in book.asks.lvls[::-1]
                if lvl.price <= price
                for o in lvl.live_orders()
            )
            left = matched
            bi = si = 0
            touched: dict[int, tuple[BookSide, Level]] = {}
            while left:
                b, blvl = buys[bi]
                s, slvl = sells[si]
                fill = min(b.leaves, s.leaves, left)
                left -= fill
                b.leaves -= fill
                s.leaves -= fill
                self.seq += 1
                out.append((EV_TRADE, self.seq, ts, book.symbol, price, fill, None, b.order_id,
                            b.account, b.leaves, s.order_id, s.account, s.leaves))  # fmt: skip
                for o, lvl, bs in ((b, blvl, book.bids), (s, slvl, book.asks)):
                    if lvl is not None:
                        touched[id(lvl)] = (bs, lvl)
                    if not o.leaves:
                        del book.orders[o.order_id]
                        o.level = None
                if not b.leaves:
                    bi += 1
                if not s.leaves:
                    si += 1
            book.call_buys = [o for o in book.call_buys if o.leaves]
            book.call_sells = [o for o in book.call_sells if o.leaves]
            for bs, lvl in touched.values():
                _rebuild_level(lvl)
                self._drop_level_if_empty(bs, lvl)
                self._book_delta(book, bs, lvl, ts, out)
            book.last_price = price
            book.recenter_band()
        else:
            price, matched, imbalance, side = None, 0, 0, None
        self.seq += 1
        out.append((EV_AUCTION, self.seq, ts, book.symbol, price, matched, imbalance, side))

    def _cancel_call_markets(self, book: Book, ts: Nanos, out: list) -> None:
        """After an uncross, the market orders of the call that did not execute (all or part)
        are canceled (``market_remainder``): buys first, each side in time priority."""
        for o in book.call_buys + book.call_sells:
            leaves = o.leaves
            o.leaves = 0
            del book.orders[o.order_id]
            self.seq += 1
            out.append((EV_CANCELED, self.seq, ts, book.symbol, o.order_id, o.account,
                        C_MARKET_REMAINDER, leaves, 0))  # fmt: skip
        book.call_buys = []
        book.call_sells = []

    # --- snapshot / restore / rebuild ----------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole engine state as plain JSON-able data (lists, ints, strings, None)."""
        books = []
        for book in self.books.values():
            books.append(
                {
                    "spec": book.spec.to_dict(),
                    "session": book.session,
                    "opened": book.opened,
                    "last_price": book.last_price,
                    "top": [book.top_bid_px, book.top_bid_qty, book.top_ask_px, book.top_ask_qty],
                    "bids": _side_rows(book.bids),
                    "asks": _side_rows(book.asks),
                    "buy_stops": [e[2].to_list() for e in book.buy_stops],
                    "sell_stops": [e[2].to_list() for e in book.sell_stops],
                    "held": [o.to_list() for o in book.held],
                    "call_buys": [o.to_list() for o in book.call_buys],
                    "call_sells": [o.to_list() for o in book.call_sells],
                }
            )
        return {
            "format": 1,
            "shard": self.shard,
            "seq": self.seq,
            "tiebreak": self.tiebreak,
            "books": books,
            "gtd": [
                [e[0], e[1], e[2], e[3].order_id]
                for e in sorted(self.gtd, key=lambda e: (e[0], e[1]))
                if e[3].leaves and self.books[e[2]].orders.get(e[3].order_id) is e[3]
            ],
            "seen": list(self.seen),
            "seen_prev": list(self.seen_prev),
            "seen_base": self.seen_base,
            "seen_window": self.seen_window,
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> Engine:
        """Rebuild an engine from :meth:`snapshot`; replaying the commands that followed the
        snapshot then yields exactly the events (and seqs) the original engine emitted."""
        if snap.get("format") != 1:
            raise ValueError("unknown snapshot format")
        engine = cls(snap["shard"], snap["seq"], snap.get("seen_window", SEEN_WINDOW))
        engine.tiebreak = snap["tiebreak"]
        for row in snap["books"]:
            spec = InstrumentSpec(**row["spec"])
            engine.register(spec)
            book = engine.books[spec.symbol]
            book.enter(row["session"])
            book.opened = row["opened"]
            book.last_price = row["last_price"]
            book.recenter_band()
            book.top_bid_px, book.top_bid_qty, book.top_ask_px, book.top_ask_qty = row["top"]
            for bs, rows in ((book.bids, row["bids"]), (book.asks, row["asks"])):
                for price, shown_rows, hidden_rows in rows:
                    lvl = Level(price)
                    bs.add_level(lvl)
                    for orow in shown_rows:
                        o = Order.from_list(orow)
                        o.level = lvl
                        lvl.queue.append(o)
                        lvl.count += 1
                        lvl.qty += o.shown if o.peak else o.leaves
                        book.orders[o.order_id] = o
                    if hidden_rows:
                        hq: list[Order] = []
                        lvl.hidden_queue = hq
                        for orow in hidden_rows:
                            o = Order.from_list(orow)
                            o.level = lvl
                            hq.append(o)
                            lvl.hidden_count += 1
                            book.orders[o.order_id] = o
            for orow in row["buy_stops"] + row["sell_stops"]:
                o = Order.from_list(orow)
                engine._add_stop(book, o)
                book.orders[o.order_id] = o
            for orow in row["held"]:
                o = Order.from_list(orow)
                book.held.append(o)
                book.orders[o.order_id] = o
            # (absent from snapshots written before market-on-open/-close orders existed)
            for orow in row.get("call_buys", []) + row.get("call_sells", []):
                o = Order.from_list(orow)
                book.add_call_market(o)
                book.orders[o.order_id] = o
        for expire_ns, tb, symbol, oid in snap["gtd"]:
            engine.gtd.append((expire_ns, tb, symbol, engine.books[symbol].orders[oid]))
        heapify(engine.gtd)
        engine.seen = dict.fromkeys(snap["seen"])
        engine.seen_prev = dict.fromkeys(snap.get("seen_prev", ()))
        # A snapshot from before the generations: all its ids count as the start of ``seen``.
        engine.seen_base = snap.get("seen_base", len(engine.seen))
        return engine

    def load_resting(self, cmd: tuple, leaves_qty: int | None = None) -> None:
        """Put an order from the database back into its book, behind those loaded before it.

        For a rebuild when Redis lost the stream: call it in engine priority order. It emits no
        event and does not move ``seq``; the id joins the seen set so a re-send is dropped.
        """
        (
            _, _ts, symbol, oid, account, side, order_type, tif, qty, price, stop_price, display,
            hidden, post_only, expire_ns, stp_mode,
        ) = cmd  # fmt: skip
        book = self.books[symbol]
        self.seen[oid] = None
        leaves = qty if leaves_qty is None else leaves_qty
        if leaves <= 0:
            return
        if order_type == MARKET:
            price = None
        peak = display if display and display < leaves else 0
        tb = self.tiebreak = self.tiebreak + 1
        o = Order(
            oid, account, side, order_type, tif, price, qty, leaves,
            stop_price if order_type in (STOP, STOP_LIMIT) else None,
            peak, bool(hidden), bool(post_only), expire_ns, stp_mode or CANCEL_NEWEST, tb,
            tif_code(tif),
        )  # fmt: skip
        if tif == GTD and expire_ns is not None:
            heappush(self.gtd, (expire_ns, tb, symbol, o))
        if o.stop_price is not None:
            self._add_stop(book, o)
            book.orders[oid] = o
        elif tif == CLS and book.matching:
            book.held.append(o)
            book.orders[oid] = o
        elif price is None:
            book.add_call_market(o)
            book.orders[oid] = o
        else:
            seq = self.seq
            self._rest(book, o, 0, [])
            self.seq = seq  # _rest numbered a depth event that nobody will see

    # --- reading (for tests, tools and the matcher's depth publisher) --------------------

    def depth(self, symbol: str, levels: int = 10) -> dict[str, list[tuple[int, int, int]]]:
        """Displayed depth: (price, qty, order count) per level, best first."""
        book = self.books[symbol]
        result: dict[str, list[tuple[int, int, int]]] = {}
        for name, bs in ((BUY, book.bids), (SELL, book.asks)):
            rows = []
            for lvl in bs.lvls[::-1]:
                if lvl.count:
                    rows.append((lvl.price, lvl.qty, lvl.count))
                    if len(rows) == levels:
                        break
            result[name] = rows
        return result

    def resting_count(self) -> int:
        return sum(len(b.orders) for b in self.books.values())


def _move_to_arrival_place(o: Order) -> None:
    """Move a just-rested order back to its arrival place in its level's queue: a held cls
    order keeps the time priority it had when it was accepted."""
    lvl = o.level
    assert lvl is not None
    q = lvl.hidden_queue if o.hidden else lvl.queue
    assert q is not None
    head = lvl.hidden_head if o.hidden else lvl.head
    if len(q) - head < 2 or q[-2].tiebreak < o.tiebreak:
        return
    q.pop()
    for i in range(head, len(q)):
        if q[i].tiebreak > o.tiebreak:
            q.insert(i, o)
            return
    q.append(o)


def _sweep(lvl: Level) -> None:
    """Drop the orders that left a level's displayed queue anywhere but at the front (cancels
    deep in the book). Called once they outnumber the live orders (plus a margin), so it costs
    O(1) per cancel amortized, and no level keeps more dead entries than live ones alive (memory
    and work for the garbage collector). Never called while a match walks the level."""
    lvl.queue = [o for o in lvl.queue[lvl.head :] if o.leaves]
    lvl.head = 0


def _sweep_hidden(lvl: Level) -> None:
    """:func:`_sweep` for the hidden queue."""
    hq = lvl.hidden_queue
    if hq is not None:
        lvl.hidden_queue = [o for o in hq[lvl.hidden_head :] if o.leaves]
        lvl.hidden_head = 0


def _compact(lvl: Level) -> None:
    """Drop the consumed front of a level's queue once it is larger than what is left."""
    q = lvl.queue
    head = lvl.head
    if head * 2 >= len(q):
        del q[:head]
        lvl.head = 0


def _best_displayed(bs: BookSide) -> Level | None:
    for lvl in bs.lvls[::-1]:
        if lvl.count:
            return lvl
    return None


def _crosses(book: Book, side: str, price: int) -> bool:
    opp = book.asks if side == BUY else book.bids
    keys = opp.keys
    return bool(keys) and keys[-1] >= (-price if side == BUY else price)


def _sell_volume(ask_levels: list[tuple[int, int]], price: int) -> int:
    return sum(q for p, q in ask_levels if p <= price)


def _rebuild_level(lvl: Level) -> None:
    """Recount a level after an auction and refill icebergs whose slice was consumed."""
    live = lvl.displayed()
    qty = 0
    for o in live:
        if o.peak:
            if o.shown > o.leaves or o.shown <= 0:
                o.shown = o.peak if o.peak < o.leaves else o.leaves
            qty += o.shown
        else:
            qty += o.leaves
    lvl.queue = live
    lvl.head = 0
    lvl.count = len(live)
    lvl.qty = qty
    if lvl.hidden_queue is not None:
        hidden = lvl.hidden()
        lvl.hidden_queue = hidden
        lvl.hidden_head = 0
        lvl.hidden_count = len(hidden)


def _side_rows(bs: BookSide) -> list[list[Any]]:
    rows = []
    for lvl in bs.lvls[::-1]:
        rows.append(
            [
                lvl.price,
                [o.to_list() for o in lvl.displayed()],
                [o.to_list() for o in lvl.hidden()],
            ]
        )
    return rows
