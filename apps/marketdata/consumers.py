"""WebSocket consumers of market data: the desk's JSON feed at ``/ws/market/`` and the Alpaca
data streams (msgpack) at ``/v2/<feed>`` and ``/v1beta3/crypto/<loc>``.

Conflation, the reason these consumers look the way they do: the channel layer hands every
message to ``md_event``, which only files it in ``pending`` (latest quote per symbol, a short
bounded list of trades and bar minutes, depth increments up to a bound and past it a marker
"send a fresh snapshot instead"). A separate sender task drains ``pending`` while the socket
keeps up. A client that stops reading therefore holds at most one conflated state per symbol
and channel, never an unbounded queue, and never delays other connections: the channel layer
receive loop never waits on this client's socket.

Under daphne the sender also looks at the bytes still unsent on the TCP transport and pauses
while they exceed ``SEND_BACKLOG_LIMIT``, so a stalled client keeps conflating here instead of
piling frames into Twisted's write buffer. Other servers give no such signal; there the
socket write itself is the only brake.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import logging
import struct
import termios
import weakref
from collections import deque
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.marketdata import keys
from apps.marketdata.messages import (
    alpaca_number,
    bar_message,
    encode,
    error_message,
    quote_message,
)
from apps.marketdata.selectors import adepth_snapshot, alatest_quote, alatest_trade_price
from apps.marketdata.specs import MarketSpec

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
MAX_SUBSCRIPTIONS = 400
TRADES_KEPT_PER_SYMBOL = 100
BARS_KEPT_PER_SYMBOL = 3
DEPTH_INCREMENTS_KEPT = 500
# Unsent bytes (Twisted's buffer and the kernel's send queue) above which a socket's sender
# stops writing and its conflation state takes over: about 60 quotes.
SEND_BACKLOG_LIMIT = 16 * 1024
# Messages drained together leave in one frame (a JSON array on /ws/market/, the msgpack
# array Alpaca's streams always use), at most this many per frame.
FRAME_MAX_MESSAGES = 200
# The hub wakes the senders this long after the first message of a burst, not at once: the
# publisher's messages for several symbols arrive a few milliseconds apart, and one frame
# for all of them costs a quarter of four frames (docs/marketdata.md).
FRAME_LINGER_SECONDS = 0.002
STALLED_POLL_SECONDS = 0.05
RESNAPSHOT = object()


class MarketDataHub:
    """One member per server process and market data group, on the ``marketdata`` channel
    layer (Redis pub/sub), fanning out in memory to the process's sockets.

    If every socket joined the groups itself, a quote for a thousand subscribers would be a
    thousand Redis messages. The hub receives each message once and files it into every local
    subscriber's conflation dict (plain dict operations, no I/O), so the cost per message is
    one Redis message per process, whatever the number of sockets.

    Why pub/sub and not the default (core) layer: a core-layer receive costs four Redis round
    trips, each waiting for a turn of the event loop, and under fan-out every turn is long
    with socket writes. The hub then fell behind at 80 messages/s and seconds of quotes
    queued in Redis, where conflation cannot reach them (measured: docs/marketdata.md). On
    pub/sub everything that has arrived is read in one go and conflated at once.
    """

    def __init__(self) -> None:
        from channels.layers import get_channel_layer
        from django.conf import settings

        self.layer = get_channel_layer(settings.MARKETDATA_CHANNEL_LAYER)
        self.channel_name: str | None = None
        self.members: dict[str, set[ConflatingConsumer]] = {}
        self.lock = asyncio.Lock()
        self.task: asyncio.Task | None = None
        self.touched: set[ConflatingConsumer] = set()
        self.wake_handle: asyncio.TimerHandle | None = None

    async def join(self, group: str, consumer: ConflatingConsumer) -> None:
        async with self.lock:
            if self.channel_name is None:
                self.channel_name = await self.layer.new_channel()
                self.task = asyncio.create_task(self._receive_loop())
            members = self.members.setdefault(group, set())
            members.add(consumer)
            if len(members) == 1:
                await self.layer.group_add(group, self.channel_name)

    async def leave(self, group: str, consumer: ConflatingConsumer) -> None:
        async with self.lock:
            members = self.members.get(group)
            if not members or consumer not in members:
                return
            members.discard(consumer)
            if not members:
                del self.members[group]
                await self.layer.group_discard(group, self.channel_name)

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("market data hub: receive failed")
                await asyncio.sleep(0.5)
                continue
            if message.get("type") != "md.event":
                continue
            group = keys.group(message["channel"], message["symbol"])
            for consumer in list(self.members.get(group, ())):
                try:
                    if consumer.file_event(message):
                        self.touched.add(consumer)
                except Exception:
                    logger.exception("market data hub: a subscriber failed")
            if self.touched and self.wake_handle is None:
                loop = asyncio.get_running_loop()
                self.wake_handle = loop.call_later(FRAME_LINGER_SECONDS, self._wake)

    def _wake(self) -> None:
        """Send what every socket touched during the linger has pending: at once where that
        needs no await (``flush_now``), else by waking the socket's sender task."""
        self.wake_handle = None
        touched, self.touched = self.touched, set()
        for consumer in touched:
            try:
                flushed = consumer.flush_now()
            except Exception:
                logger.exception("market data hub: flushing a socket failed")
                flushed = False
            if not flushed:
                consumer.wakeup.set()


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hub() -> MarketDataHub:
    """The hub of the running event loop (one per server process in daphne)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = MarketDataHub()
    return found


def daphne_protocol(send: Any) -> Any | None:
    """daphne's protocol object (autobahn's ``WebSocketServerProtocol``) behind an ASGI
    ``send``, or None under another server. Middleware may wrap ``send`` (the session
    middleware's ``real_send``); unwrap to daphne's ``partial(server.handle_reply, protocol)``."""
    for _ in range(5):
        if isinstance(send, functools.partial):
            break
        owner = getattr(send, "__self__", None)
        send = getattr(owner, "real_send", None)
        if send is None:
            return None
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    return protocol if hasattr(protocol, "sendPreparedMessage") else None


def transport_buffered(protocol: Any) -> int | None:
    """Bytes in Twisted's write buffer for this socket, or None when not knowable."""
    transport = getattr(protocol, "transport", None)
    data = getattr(transport, "dataBuffer", None)
    if data is None:
        return None
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def transport_backlog(protocol: Any) -> int | None:
    """Bytes written to this socket and not yet taken by the client, as far as the server
    can see: Twisted's buffer plus the kernel's send queue (Linux ``TIOCOUTQ``: bytes the
    peer has not acknowledged). Without the kernel's share, a client that reads slowly would
    queue up to megabytes in socket buffers (autotuned) before conflation started."""
    buffered = transport_buffered(protocol)
    if buffered is None:
        return None
    try:
        queued = struct.unpack(
            "i", fcntl.ioctl(protocol.transport.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        )[0]
    except (OSError, AttributeError, ValueError):
        queued = 0
    return buffered + queued


def write_frame(protocol: Any, prepared: Any) -> None:
    """Write a prepared frame on daphne's socket: straight to the socket when nothing is
    queued before it, else through autobahn and Twisted's buffer.

    Twisted never writes eagerly: ``transport.write`` buffers, registers the socket for
    writability (an epoll change), writes on the next loop turn and unregisters it (another
    epoll change). In the fan-out CPU profile that round was 85% of the cost of a frame, for a
    socket that could take the bytes at once. With the transport's buffer empty, uncompressed,
    no TLS, and the connection up, this does what Twisted's own ``doWrite`` would do a turn
    later (``writeSomeData``: one ``send``) and leaves any remainder, or a lost connection,
    to Twisted's buffer and its usual handling."""
    transport = protocol.transport
    if (
        getattr(protocol, "_perMessageCompress", None) is None
        and not getattr(transport, "TLS", False)
        and transport.connected
        and not transport.disconnecting
        and transport_buffered(protocol) == 0
        and hasattr(transport, "writeSomeData")
    ):
        payload = prepared.payloadHybi
        written = transport.writeSomeData(payload)
        if isinstance(written, int):
            if written < len(payload):
                transport.write(payload[written:])
            return
    protocol.sendPreparedMessage(prepared)


@functools.lru_cache(maxsize=256)
def prepared_frame(parts: tuple[str | bytes, ...], header: bytes = b"") -> Any:
    """One WebSocket frame framed once for every socket that sends the same messages (the
    same text objects from the hub, so the key hashes cheaply): a text frame of one message
    or a JSON array of them, or a binary frame ``header`` + parts (a msgpack array)."""
    from autobahn.websocket.protocol import PreparedMessage

    if header:
        payload, binary = header + b"".join(parts), True
    elif len(parts) == 1:
        payload, binary = parts[0].encode(), False
    else:
        payload, binary = ("[" + ",".join(parts) + "]").encode(), False
    return PreparedMessage(payload, binary, applyMask=False, doNotCompress=False)


@database_sync_to_async
def _specs(symbols: list[str]) -> dict[str, MarketSpec]:
    from apps.marketdata.specs import specs_for

    return specs_for(set(symbols))


@database_sync_to_async
def _prev_close(spec: MarketSpec):
    from apps.marketdata.selectors import prev_close

    return prev_close(spec)


@database_sync_to_async
def _latest_bar(symbol: str):
    from apps.marketdata.selectors import latest_bar

    return latest_bar(symbol)


class ConflatingConsumer(AsyncWebsocketConsumer):
    """Subscriptions to market data groups with per-connection conflation (see module doc).
    Subclasses say how to frame each message (``frame``) and how to greet a new subscriber."""

    async def setup_conflation(self) -> None:
        self.subscriptions: set[tuple[str, str]] = set()
        self.pending: dict[tuple[str, str], Any] = {}
        self.depth_last: dict[str, int] = {}  # last depth seq filed or covered by a snapshot
        self.depth_floor: dict[str, int] = {}  # seq of the last snapshot sent
        self.snapshotting: set[str] = set()
        self.outbox: list[tuple[str, str]] = []
        self.sending = False  # the sender task is draining (see flush_now)
        self.wakeup = asyncio.Event()
        self.sender = asyncio.create_task(self._send_loop())

    async def disconnect(self, code: int) -> None:
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()
        for channel, symbol in list(getattr(self, "subscriptions", ())):
            await hub().leave(keys.group(channel, symbol), self)

    def backlog(self) -> int | None:
        return transport_backlog(self.protocol())

    def protocol(self) -> Any | None:
        found = getattr(self, "_protocol", False)
        if found is False:
            found = self._protocol = daphne_protocol(self.base_send)
        return found

    async def subscribe(self, channel: str, symbol: str) -> None:
        if (channel, symbol) not in self.subscriptions:
            self.subscriptions.add((channel, symbol))
            await hub().join(keys.group(channel, symbol), self)

    async def unsubscribe(self, channel: str, symbol: str) -> None:
        if (channel, symbol) in self.subscriptions:
            self.subscriptions.discard((channel, symbol))
            self.pending.pop((channel, symbol), None)
            await hub().leave(keys.group(channel, symbol), self)

    # --- the channel layer side: file, never send -----------------------------------------

    async def md_event(self, event: dict[str, Any]) -> None:
        if self.file_event(event):
            self.wakeup.set()

    def file_event(self, event: dict[str, Any]) -> bool:
        """File one envelope into ``pending`` (no I/O: the hub calls this for every socket).
        True when the socket subscribes to it; the caller wakes the sender."""
        channel, symbol, items = event["channel"], event["symbol"], event["items"]
        key = (channel, symbol)
        if key not in self.subscriptions:
            return False
        if channel == "quotes":
            self.pending[key] = items[-1][1]
        elif channel == "trades":
            kept = self.pending.get(key)
            if kept is None:
                kept = self.pending[key] = deque(maxlen=TRADES_KEPT_PER_SYMBOL)
            kept.extend(items)
        elif channel == "bars":
            kept = self.pending.setdefault(key, {})
            for minute, text in items:
                kept[minute] = text
            while len(kept) > BARS_KEPT_PER_SYMBOL:
                kept.pop(next(iter(kept)))
        elif channel == "depth":
            self._file_depth(key, symbol, items)
        return True

    def _file_depth(self, key: tuple[str, str], symbol: str, items: list) -> None:
        kept = self.pending.get(key)
        if kept is RESNAPSHOT:
            return  # a snapshot is on its way; it will cover these
        if symbol in self.snapshotting:
            # Reading the snapshot: keep everything, it is sorted out against the snapshot.
            self.pending.setdefault(key, []).extend(items)
            return
        last = self.depth_last.get(symbol)
        if last is None:
            return
        if kept is None:
            kept = self.pending[key] = []
        for seq, text in items:
            if seq <= last:
                continue
            if seq != last + 1:
                # A message the channel layer dropped (a full channel): the book we would
                # build is wrong, so send a fresh snapshot instead of the increments.
                self.pending[key] = RESNAPSHOT
                return
            kept.append((seq, text))
            last = seq
        self.depth_last[symbol] = last
        if len(kept) > DEPTH_INCREMENTS_KEPT:
            self.pending[key] = RESNAPSHOT

    # --- the socket side ---------------------------------------------------------------------

    async def _send_loop(self) -> None:
        try:
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                self.sending = True
                try:
                    while self.pending:
                        backlog = self.backlog()
                        if backlog is not None and backlog > SEND_BACKLOG_LIMIT:
                            await asyncio.sleep(STALLED_POLL_SECONDS)
                            continue
                        pending, self.pending = self.pending, {}
                        for (channel, symbol), value in pending.items():
                            if (channel, symbol) not in self.subscriptions:
                                continue
                            await self.flush_one(channel, symbol, value)
                        await self.send_outbox()
                finally:
                    self.sending = False
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("market data sender failed; closing the socket")
            await self.close(code=1011)

    def flush_now(self) -> bool:
        """Send everything pending at once, without a task switch, when nothing in it needs
        an await: under daphne (prepared frames), the socket open and not backed up, no depth
        snapshot due and the sender task idle (it may be between the parts of a snapshot,
        which must go first). True when nothing is left pending; False leaves the work to
        the sender task. The hub calls this for every socket it touched."""
        if not self.pending:
            return True
        if self.sending:
            return False
        protocol = self.protocol()
        if protocol is None or protocol.state != protocol.STATE_OPEN:
            return False
        backlog = self.backlog()
        if backlog is not None and backlog > SEND_BACKLOG_LIMIT:
            return False
        if any(value is RESNAPSHOT for value in self.pending.values()):
            return False
        pending, self.pending = self.pending, {}
        batch = []
        for (channel, symbol), value in pending.items():
            if (channel, symbol) in self.subscriptions:
                batch.extend(self.messages_of(channel, symbol, value))
        for start in range(0, len(batch), FRAME_MAX_MESSAGES):
            parts, header = self.frame_parts(batch[start : start + FRAME_MAX_MESSAGES])
            if parts:
                write_frame(protocol, prepared_frame(parts, header))
        return True

    def messages_of(self, channel: str, symbol: str, value: Any) -> list[tuple[str, str]]:
        """The ``(channel, text)`` messages a pending value stands for (not a snapshot)."""
        if channel == "quotes":
            return [(channel, value)]
        if channel == "trades":
            return [(channel, text) for _seq, text in value]
        if channel == "bars":
            return [(channel, text) for text in value.values()]
        if channel == "depth":
            floor = self.depth_floor.get(symbol, 0)
            return [(channel, text) for seq, text in value if seq > floor]
        return []

    async def flush_one(self, channel: str, symbol: str, value: Any) -> None:
        if value is RESNAPSHOT:
            await self.send_depth_snapshot(symbol)
            return
        for message in self.messages_of(channel, symbol, value):
            await self.emit(*message)

    async def emit(self, channel: str, text: str) -> None:
        """Queue one message for the socket; everything drained in one pass of the sender
        leaves in as few frames as ``FRAME_MAX_MESSAGES`` allows (``send_frame``)."""
        self.outbox.append((channel, text))
        if len(self.outbox) >= FRAME_MAX_MESSAGES:
            await self.send_outbox()

    async def send_outbox(self) -> None:
        if self.outbox:
            batch, self.outbox = self.outbox, []
            await self.send_frame(batch)

    async def send_frame(self, batch: list[tuple[str, str]]) -> None:
        """Send ``(channel, message text)`` pairs, in order, as one WebSocket frame: under
        daphne through autobahn's prepared-message API (framed once per distinct frame for
        all sockets, and without the ASGI send path, which cost most of a frame's CPU in the
        fan-out profile), elsewhere (another server, tests) through ASGI."""
        parts, header = self.frame_parts(batch)
        if not parts:
            return
        protocol = self.protocol()
        if protocol is not None and protocol.state == protocol.STATE_OPEN:
            write_frame(protocol, prepared_frame(parts, header))
        elif header:
            await self.send(bytes_data=header + b"".join(parts))
        elif len(parts) == 1:
            await self.send(text_data=parts[0])
        else:
            await self.send(text_data="[" + ",".join(parts) + "]")

    def frame_parts(self, batch: list[tuple[str, str]]) -> tuple[tuple, bytes]:
        """The frame's parts and header for ``prepared_frame``: message texts (a text frame)
        or encoded messages after a binary ``header``."""
        raise NotImplementedError

    async def send_depth_snapshot(self, symbol: str) -> None:
        """Send the book as of its depth sequence; increments at or below it are dropped."""
        await self.send_outbox()
        self.snapshotting.add(symbol)
        try:
            snapshot = await adepth_snapshot(symbol)
        finally:
            self.snapshotting.discard(symbol)
        self.depth_floor[symbol] = snapshot.seq
        key = ("depth", symbol)
        kept = self.pending.get(key)
        last = snapshot.seq
        if isinstance(kept, list):
            newer = sorted({s: t for s, t in kept if s > snapshot.seq}.items())
            if all(s == snapshot.seq + i + 1 for i, (s, _t) in enumerate(newer)):
                kept[:] = newer
                last = newer[-1][0] if newer else snapshot.seq
            else:
                self.pending[key] = RESNAPSHOT
        if self.pending.get(key) is not RESNAPSHOT:
            self.depth_last[symbol] = last
        await self.emit_depth_snapshot(snapshot)

    async def emit_depth_snapshot(self, snapshot: Any) -> None:
        raise NotImplementedError


class MarketDataConsumer(ConflatingConsumer):
    """``/ws/market/``: the trading desk's feed, session-authenticated (docs/marketdata.md)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        # Accept, then close: a close before accept becomes an HTTP 403 and the client never
        # sees the 4401 that tells it to sign in again.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.setup_conflation()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if not hasattr(self, "subscriptions"):
            return
        try:
            content = json.loads(text_data or "")
        except ValueError:
            await self.send_error("invalid_json", "Messages are JSON objects.")
            return
        if not isinstance(content, dict):
            await self.send_error("invalid_message", "Messages are JSON objects.")
            return
        action = content.get("action")
        if action in ("subscribe", "unsubscribe"):
            await self.change_subscriptions(action, content)
        elif action == "snapshot":
            symbol = content.get("symbol")
            if not isinstance(symbol, str) or ("depth", symbol) not in self.subscriptions:
                await self.send_error("not_subscribed", "Subscribe to depth for this symbol first.")
                return
            self.pending[("depth", symbol)] = RESNAPSHOT
            self.wakeup.set()
        else:
            await self.send_error(
                "invalid_action", "action must be subscribe, unsubscribe or snapshot."
            )

    async def change_subscriptions(self, action: str, content: dict[str, Any]) -> None:
        channels = content.get("channels")
        symbols = content.get("symbols")
        if (
            not isinstance(channels, list)
            or not isinstance(symbols, list)
            or not all(isinstance(c, str) for c in channels)
            or not all(isinstance(s, str) for s in symbols)
        ):
            await self.send_error(
                "invalid_message", "channels and symbols must be lists of strings."
            )
            return
        unknown_channels = [c for c in channels if c not in keys.CHANNELS]
        if unknown_channels:
            await self.send_error(
                "unknown_channel",
                f"Unknown channel {unknown_channels[0]!r}; use {', '.join(keys.CHANNELS)}.",
            )
            return
        if action == "unsubscribe":
            for channel in channels:
                for symbol in symbols:
                    await self.unsubscribe(channel, symbol)
            return
        specs = await _specs(symbols)
        unknown = [s for s in symbols if s not in specs]
        if unknown:
            await self.send_error("unknown_symbol", f"Unknown symbol {unknown[0]!r}.")
        wanted = {(c, s) for c in channels for s in symbols if s in specs}
        if len(self.subscriptions | wanted) > MAX_SUBSCRIPTIONS:
            await self.send_error(
                "too_many_subscriptions", f"At most {MAX_SUBSCRIPTIONS} channel/symbol pairs."
            )
            return
        for channel in channels:
            for symbol in symbols:
                spec = specs.get(symbol)
                if spec is None:
                    continue
                await self.subscribe(channel, symbol)
                await self.greet(channel, spec)

    async def greet(self, channel: str, spec: MarketSpec) -> None:
        """What a new subscriber gets at once: the book (depth), the current quote, the
        current bar. A re-subscribe to depth is how a client recovers from a gap."""
        symbol = spec.symbol
        if channel == "depth":
            self.pending[("depth", symbol)] = RESNAPSHOT
            self.wakeup.set()
        elif channel == "quotes":
            quote = await alatest_quote(symbol)
            last = await alatest_trade_price(symbol)
            if quote is None and last is None:
                return
            quote = quote or {"bid": None, "bid_size": 0, "ask": None, "ask_size": 0, "at": None}
            message = quote_message(
                spec,
                bid=quote["bid"],
                bid_size=quote["bid_size"],
                ask=quote["ask"],
                ask_size=quote["ask_size"],
                last=last,
                prev_close=await _prev_close(spec),
                at=quote["at"] or None,
            )
            self.pending.setdefault(("quotes", symbol), encode(message))
            self.wakeup.set()
        elif channel == "bars":
            bar = await _latest_bar(symbol)
            if bar is not None:
                from apps.marketdata.messages import iso

                kept = self.pending.setdefault(("bars", symbol), {})
                kept.setdefault(iso(bar["start"]), encode(bar_message(spec, bar)))
                self.wakeup.set()

    def frame_parts(self, batch: list[tuple[str, str]]) -> tuple[tuple, bytes]:
        # The texts were encoded once by the publisher, for every socket: a frame joins them.
        return tuple(text for _channel, text in batch), b""

    async def emit_depth_snapshot(self, snapshot: Any) -> None:
        specs = await _specs([snapshot.symbol])
        spec = specs[snapshot.symbol]

        def rows(levels):
            return [[spec.price_str(p), spec.qty_str(q), c] for p, q, c in levels]

        await self.send(
            text_data=encode(
                {
                    "type": "snapshot",
                    "channel": "depth",
                    "symbol": snapshot.symbol,
                    "seq": snapshot.seq,
                    "bids": rows(snapshot.bids),
                    "asks": rows(snapshot.asks),
                }
            )
        )

    async def send_error(self, code: str, message: str) -> None:
        await self.send(text_data=encode(error_message(code, message)))


# --- the Alpaca data streams (msgpack) ----------------------------------------------------


@database_sync_to_async
def _api_key_valid(key_id: str, secret: str) -> bool:
    from apps.api.services import api_key_authenticate

    return api_key_authenticate(key_id=key_id, secret=secret) is not None


def _alpaca_time(iso_text: str):
    """An RFC 3339 string as a msgpack Timestamp (the SDK calls ``.to_datetime()`` on ``t``)."""
    import datetime as dt

    import msgpack

    moment = dt.datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
    return msgpack.Timestamp.from_datetime(moment)


def _number(text: str | None) -> int | float:
    """Alpaca's stream frames have numbers (0 when we have none); our messages carry Decimal
    strings."""
    return alpaca_number(text) or 0


@functools.lru_cache(maxsize=4096)
def _alpaca_packed(channel: str, text: str, crypto: bool) -> bytes | None:
    """One of our messages as an Alpaca data frame, msgpack encoded. Every subscriber of the
    stream gets the same message text from the hub, so the cache encodes it once, not once per
    socket (the cache key hashes the text once: Python keeps a string's hash)."""
    import msgpack

    message = json.loads(text)
    symbol = message["symbol"].replace("-", "/") if crypto else message["symbol"]
    if channel == "trades":
        frame = {
            "T": "t",
            "S": symbol,
            "i": 0,
            "x": "V",
            "p": _number(message["price"]),
            "s": _number(message["qty"]),
            "t": _alpaca_time(message["at"]),
            "c": ["@"],
            "z": "C",
        }
    elif channel == "quotes":
        if message.get("at") is None:
            return None
        frame = {
            "T": "q",
            "S": symbol,
            "bx": "V",
            "bp": _number(message["bid"]),
            "bs": _number(message["bid_size"]),
            "ax": "V",
            "ap": _number(message["ask"]),
            "as": _number(message["ask_size"]),
            "t": _alpaca_time(message["at"]),
            "c": ["R"],
            "z": "C",
        }
    elif channel == "bars":
        frame = {
            "T": "b",
            "S": symbol,
            "o": _number(message["o"]),
            "h": _number(message["h"]),
            "l": _number(message["l"]),
            "c": _number(message["c"]),
            "v": _number(message["v"]),
            "t": _alpaca_time(message["t"]),
        }
    else:
        return None
    return msgpack.packb(frame, datetime=False)


class AlpacaDataStreamConsumer(ConflatingConsumer):
    """``StockDataStream`` / ``CryptoDataStream`` with ``url_override`` at ``/v2/<feed>`` or
    ``/v1beta3/crypto/<loc>``: msgpack frames, ``auth`` with the API key, then ``subscribe``
    to ``trades``, ``quotes`` and ``bars``; data frames are arrays of ``{"T": "t"|"q"|"b"}``.
    Same groups and the same conflation as the desk's feed."""

    CHANNEL_BY_ALPACA = {"trades": "trades", "quotes": "quotes", "bars": "bars"}

    async def connect(self) -> None:
        self.authenticated = False
        self.crypto = "crypto" in self.scope.get("path", "")
        await self.accept()
        await self.send_frames([{"T": "success", "msg": "connected"}])

    async def send_frames(self, frames: list[dict[str, Any]]) -> None:
        import msgpack

        await self.send(bytes_data=msgpack.packb(frames, datetime=False))

    def wire(self, symbol: str) -> str:
        return symbol.replace("-", "/") if self.crypto else symbol

    def ours(self, symbol: str) -> str:
        return symbol.replace("/", "-") if self.crypto else symbol

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        import msgpack

        try:
            content = msgpack.unpackb(bytes_data) if bytes_data else json.loads(text_data or "")
        except Exception:
            await self.send_frames([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            return
        if not isinstance(content, dict):
            await self.send_frames([{"T": "error", "code": 400, "msg": "invalid syntax"}])
            return
        action = content.get("action")
        if action == "auth":
            ok = await _api_key_valid(str(content.get("key", "")), str(content.get("secret", "")))
            if not ok:
                await self.send_frames([{"T": "error", "code": 402, "msg": "auth failed"}])
                await self.close(code=1008)
                return
            self.authenticated = True
            await self.setup_conflation()
            await self.send_frames([{"T": "success", "msg": "authenticated"}])
        elif action in ("subscribe", "unsubscribe"):
            if not self.authenticated:
                await self.send_frames([{"T": "error", "code": 401, "msg": "not authenticated"}])
                return
            await self.change(action, content)
        else:
            await self.send_frames([{"T": "error", "code": 400, "msg": "invalid syntax"}])

    async def change(self, action: str, content: dict[str, Any]) -> None:
        for alpaca_name, channel in self.CHANNEL_BY_ALPACA.items():
            symbols = content.get(alpaca_name) or []
            if not isinstance(symbols, list):
                continue
            ours = [self.ours(str(s)) for s in symbols if s != "*"]
            known = await _specs(ours) if action == "subscribe" else {}
            for symbol in ours:
                if action == "subscribe" and symbol in known:
                    await self.subscribe(channel, symbol)
                elif action == "unsubscribe":
                    await self.unsubscribe(channel, symbol)
        reply: dict[str, Any] = {"T": "subscription"}
        for alpaca_name, channel in self.CHANNEL_BY_ALPACA.items():
            reply[alpaca_name] = sorted(self.wire(s) for c, s in self.subscriptions if c == channel)
        for other in ("updatedBars", "dailyBars", "statuses", "lulds", "corrections"):
            reply[other] = []
        await self.send_frames([reply])

    def frame_parts(self, batch: list[tuple[str, str]]) -> tuple[tuple, bytes]:
        import msgpack

        packed = [_alpaca_packed(channel, text, self.crypto) for channel, text in batch]
        packed = tuple(p for p in packed if p is not None)
        return packed, msgpack.Packer().pack_array_header(len(packed)) if packed else b""

    async def emit_depth_snapshot(self, snapshot: Any) -> None:
        return  # no depth channel on Alpaca's stock and crypto streams
