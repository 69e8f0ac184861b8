"""Named views of the engine's command and event tuples.

The engine consumes and produces plain tuples (cheapest to build, msgpack-ready). These classes
are tuple subclasses with a keyword constructor, named read-only fields and a readable repr, so
code outside the hot path can say ``cmd.order_id`` and ``NewOrder(ts_ns=..., ...)`` while the
engine sees an ordinary tuple. A record compares equal to the plain tuple with the same items.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, ClassVar

from apps.matching.engine.core import (
    CANCEL_NEWEST,
    CMD_CANCEL,
    CMD_EXPIRE,
    CMD_HALT,
    CMD_INSTRUMENT,
    CMD_MASS_CANCEL,
    CMD_NEW,
    CMD_REPLACE,
    CMD_RESUME,
    CMD_SESSION,
    DAY,
    EV_ACCEPTED,
    EV_AUCTION,
    EV_BOOK,
    EV_CANCELED,
    EV_EXPIRED,
    EV_INDICATIVE,
    EV_REJECTED,
    EV_REPLACED,
    EV_SESSION,
    EV_TOP,
    EV_TRADE,
    EV_TRIGGERED,
    LIMIT,
)


class Record(tuple):
    """A tuple whose positions have names (``FIELDS``); position 0 is always ``kind``."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ("kind",)
    KIND: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(self.FIELDS, self, strict=True))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v!r}" for n, v in zip(self.FIELDS[1:], self[1:], strict=True))
        return f"{type(self).__name__}({body})"


def _named(fields: tuple[str, ...]) -> dict[str, property]:
    return {name: property(itemgetter(i)) for i, name in enumerate(fields)}


# --- commands ------------------------------------------------------------------------------


class NewOrder(Record):
    """Enter an order. ``price`` in ticks (None for market/stop), ``qty`` and ``display_qty``
    in lots; ``display_qty`` > 0 makes an iceberg; ``stp_mode`` None means cancel_newest."""

    __slots__ = ()
    KIND = CMD_NEW
    FIELDS = (
        "kind", "ts_ns", "symbol", "order_id", "account", "side", "order_type", "tif", "qty",
        "price", "stop_price", "display_qty", "hidden", "post_only", "expire_ns", "stp_mode",
    )  # fmt: skip

    def __new__(
        cls,
        *,
        ts_ns: int,
        symbol: str,
        order_id: Any,
        side: str,
        qty: int,
        price: int | None = None,
        account: Any = None,
        order_type: str = LIMIT,
        tif: str = DAY,
        stop_price: int | None = None,
        display_qty: int = 0,
        hidden: bool = False,
        post_only: bool = False,
        expire_ns: int | None = None,
        stp_mode: str | None = CANCEL_NEWEST,
    ) -> NewOrder:
        return tuple.__new__(
            cls,
            (CMD_NEW, ts_ns, symbol, order_id, account, side, order_type, tif, qty, price,
             stop_price, display_qty, hidden, post_only, expire_ns, stp_mode),
        )  # fmt: skip


class Cancel(Record):
    """Cancel a live order. ``account`` None skips the ownership check."""

    __slots__ = ()
    KIND = CMD_CANCEL
    FIELDS = ("kind", "ts_ns", "symbol", "order_id", "account")

    def __new__(cls, *, ts_ns: int, symbol: str, order_id: Any, account: Any = None) -> Cancel:
        return tuple.__new__(cls, (CMD_CANCEL, ts_ns, symbol, order_id, account))


class Replace(Record):
    """Cancel/replace: ``qty`` is the new total quantity (filled included), ``price`` None
    keeps the price, ``new_order_id`` None keeps the id."""

    __slots__ = ()
    KIND = CMD_REPLACE
    FIELDS = (
        "kind", "ts_ns", "symbol", "order_id", "account", "qty", "price", "new_order_id",
        "stop_price",
    )  # fmt: skip

    def __new__(
        cls,
        *,
        ts_ns: int,
        symbol: str,
        order_id: Any,
        qty: int,
        price: int | None = None,
        account: Any = None,
        new_order_id: Any = None,
        stop_price: int | None = None,
    ) -> Replace:
        return tuple.__new__(
            cls, (CMD_REPLACE, ts_ns, symbol, order_id, account, qty, price, new_order_id,
                  stop_price),
        )  # fmt: skip


class MassCancel(Record):
    """Cancel every live order of ``account`` (None: all accounts) in ``symbol`` (None: all
    symbols of the shard): kill switch and cancel-on-disconnect."""

    __slots__ = ()
    KIND = CMD_MASS_CANCEL
    FIELDS = ("kind", "ts_ns", "symbol", "account")

    def __new__(cls, *, ts_ns: int, symbol: str | None = None, account: Any = None) -> MassCancel:
        return tuple.__new__(cls, (CMD_MASS_CANCEL, ts_ns, symbol, account))


class SetSession(Record):
    """Move ``symbol`` (None: every symbol of the shard) to a session state."""

    __slots__ = ()
    KIND = CMD_SESSION
    FIELDS = ("kind", "ts_ns", "symbol", "state")

    def __new__(cls, *, ts_ns: int, state: str, symbol: str | None = None) -> SetSession:
        return tuple.__new__(cls, (CMD_SESSION, ts_ns, symbol, state))


class Halt(Record):
    """Halt trading in a symbol (regulatory or operator halt)."""

    __slots__ = ()
    KIND = CMD_HALT
    FIELDS = ("kind", "ts_ns", "symbol", "reason")

    def __new__(cls, *, ts_ns: int, symbol: str, reason: str = "halt") -> Halt:
        return tuple.__new__(cls, (CMD_HALT, ts_ns, symbol, reason))


class Resume(Record):
    """End a halt: the symbol enters a reopening call (uncrossed by SetSession continuous)."""

    __slots__ = ()
    KIND = CMD_RESUME
    FIELDS = ("kind", "ts_ns", "symbol")

    def __new__(cls, *, ts_ns: int, symbol: str) -> Resume:
        return tuple.__new__(cls, (CMD_RESUME, ts_ns, symbol))


class ExpireOrders(Record):
    """Expire every GTD order whose ``expire_ns`` <= ``ts_ns`` (sent by the scheduler)."""

    __slots__ = ()
    KIND = CMD_EXPIRE
    FIELDS = ("kind", "ts_ns")

    def __new__(cls, *, ts_ns: int) -> ExpireOrders:
        return tuple.__new__(cls, (CMD_EXPIRE, ts_ns))


class AddInstrument(Record):
    """Register (or update) an instrument from the stream; ``spec`` holds InstrumentSpec's
    keyword arguments."""

    __slots__ = ()
    KIND = CMD_INSTRUMENT
    FIELDS = ("kind", "ts_ns", "spec")

    def __new__(cls, *, ts_ns: int, spec: dict[str, Any]) -> AddInstrument:
        return tuple.__new__(cls, (CMD_INSTRUMENT, ts_ns, spec))


COMMANDS: dict[str, type[Record]] = {
    c.KIND: c
    for c in (
        NewOrder, Cancel, Replace, MassCancel, SetSession, Halt, Resume, ExpireOrders,
        AddInstrument,
    )
}  # fmt: skip

# --- events (built by the engine as plain tuples; these classes name them) ------------------

_HEAD = ("kind", "seq", "ts_ns", "symbol")


class Accepted(Record):
    """The order is live (resting, waiting as a stop, or about to match)."""

    __slots__ = ()
    KIND = EV_ACCEPTED
    FIELDS = (*_HEAD, "order_id", "account", "side", "price", "qty")


class Rejected(Record):
    """A command was refused; ``request`` says which (new, cancel, replace, ...)."""

    __slots__ = ()
    KIND = EV_REJECTED
    FIELDS = (*_HEAD, "order_id", "account", "reason", "request")


class Trade(Record):
    """One execution. In an auction ``aggressor_side`` is None, taker = buy, maker = sell."""

    __slots__ = ()
    KIND = EV_TRADE
    FIELDS = (
        *_HEAD, "price", "qty", "aggressor_side", "taker_order_id", "taker_account",
        "taker_leaves", "maker_order_id", "maker_account", "maker_leaves",
    )  # fmt: skip


class Canceled(Record):
    """``canceled_qty`` left the order; ``leaves_qty`` > 0 only for a self-trade decrement."""

    __slots__ = ()
    KIND = EV_CANCELED
    FIELDS = (*_HEAD, "order_id", "account", "reason", "canceled_qty", "leaves_qty")


class Replaced(Record):
    """Cancel/replace applied; ``priority_kept`` tells whether the order kept its place."""

    __slots__ = ()
    KIND = EV_REPLACED
    FIELDS = (
        *_HEAD, "order_id", "new_order_id", "account", "price", "qty", "leaves_qty",
        "priority_kept",
    )  # fmt: skip


class Triggered(Record):
    """A stop order was triggered by ``last_price`` and enters as market / limit."""

    __slots__ = ()
    KIND = EV_TRIGGERED
    FIELDS = (*_HEAD, "order_id", "account", "stop_price", "last_price")


class Expired(Record):
    """Time in force ran out: reason day, gtd, opg or cls."""

    __slots__ = ()
    KIND = EV_EXPIRED
    FIELDS = (*_HEAD, "order_id", "account", "reason", "expired_qty")


class BookDelta(Record):
    """A displayed price level changed: its total displayed qty and order count now."""

    __slots__ = ()
    KIND = EV_BOOK
    FIELDS = (*_HEAD, "side", "price", "qty", "order_count")


class TopOfBook(Record):
    """Best displayed bid and ask (price None and qty 0 when a side is empty)."""

    __slots__ = ()
    KIND = EV_TOP
    FIELDS = (*_HEAD, "bid_price", "bid_qty", "ask_price", "ask_qty")


class SessionChange(Record):
    """The symbol's session state changed (reason: schedule, luld, halt, resume, ...)."""

    __slots__ = ()
    KIND = EV_SESSION
    FIELDS = (*_HEAD, "state", "reason")


class AuctionIndicative(Record):
    """During a call: the price the auction would uncross at now, and the imbalance."""

    __slots__ = ()
    KIND = EV_INDICATIVE
    FIELDS = (*_HEAD, "price", "matched_qty", "imbalance_qty", "imbalance_side")


class AuctionResult(Record):
    """The call uncrossed (price None and matched 0 if nothing crossed)."""

    __slots__ = ()
    KIND = EV_AUCTION
    FIELDS = (*_HEAD, "price", "matched_qty", "imbalance_qty", "imbalance_side")


EVENTS: dict[str, type[Record]] = {
    c.KIND: c
    for c in (
        Accepted, Rejected, Trade, Canceled, Replaced, Triggered, Expired, BookDelta, TopOfBook,
        SessionChange, AuctionIndicative, AuctionResult,
    )
}  # fmt: skip

# Named read-only properties for every field (attribute access on the tuple positions).
for _cls in (*COMMANDS.values(), *EVENTS.values()):
    for _name, _prop in _named(_cls.FIELDS).items():
        setattr(_cls, _name, _prop)
del _cls, _name, _prop


def describe(item: tuple) -> dict[str, Any]:
    """A command or event tuple as a dict of its named fields (for tests, logs, tools)."""
    cls = EVENTS.get(item[0]) or COMMANDS.get(item[0])
    if cls is None:
        raise ValueError(f"unknown kind {item[0]!r}")
    return dict(zip(cls.FIELDS, item, strict=True))
