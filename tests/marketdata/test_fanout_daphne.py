"""/ws/market/ over real daphne processes and real sockets: the path the fan-out takes in
production (the hub's immediate flush, autobahn prepared frames, several processes on one
port), which WebsocketCommunicator does not reach."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from websockets.asyncio.client import connect

from apps.marketdata.publisher import publisher
from apps.marketdata.services import EngineBookProjector
from tests.clients.factories import UserFactory
from tests.instruments.factories import EquityFactory
from tests.processes import REPO, ProcessManager, free_port, port_open, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
VENV_BIN = Path(sys.executable).parent
WS_CONFIG = REPO / "docker" / "ws.supervisord.conf"  # what the Procfile's ws runs


def book(seq, side, price, qty, count):
    return ("book", seq, time.time_ns(), "ACME", side, price, qty, count)


def top(seq, bid, ask):
    return ("top", seq, time.time_ns(), "ACME", bid, 5, ask, 7)


@pytest.fixture
def session_cookie(md):
    EquityFactory(symbol="ACME")
    user = UserFactory(username="fanout-user")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


class Feed:
    """A desk socket that reads frames (one message, or an array of them) as messages."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.unread: list[dict] = []

    @classmethod
    async def open(cls, address: str, cookie: str) -> Feed:
        ws = await connect(
            f"ws://{address}/ws/market/",
            origin=f"http://{address}",
            additional_headers={"Cookie": f"sessionid={cookie}"},
        )
        return cls(ws)

    async def receive(self) -> dict:
        while not self.unread:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
            self.unread.extend(frame if isinstance(frame, list) else [frame])
        return self.unread.pop(0)

    async def receive_until(self, wanted) -> dict:
        for _ in range(200):
            message = await self.receive()
            if wanted(message):
                return message
        raise AssertionError("not received")


async def publish(projector, events) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, lambda: (projector.apply(events), publisher.flush())
    )


def test_depth_increments_follow_the_snapshot_in_order_over_daphne(session_cookie, daphne_server):
    projector = EngineBookProjector()

    async def run():
        feed = await Feed.open(daphne_server, session_cookie)
        await feed.ws.send(
            json.dumps({"action": "subscribe", "channels": ["depth"], "symbols": ["ACME"]})
        )
        snapshot = await feed.receive()
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 0
        await asyncio.sleep(0.3)  # the hub's subscription is in place
        for seq in range(1, 31):
            await publish(projector, [book(seq, "buy", 10000 + seq, seq, 1)])
        seqs = []
        while len(seqs) < 30:
            message = await feed.receive()
            assert message["type"] == "depth"
            seqs.append(message["seq"])
        assert seqs == list(range(1, 31))
        await feed.ws.close()

    async_to_sync(run)()


def test_the_ws_process_serves_every_socket_from_several_daphne_processes(session_cookie, tmp_path):
    port = free_port()
    manager = ProcessManager(
        tmp_path,
        WS_BIND="127.0.0.1",
        WS_PORT=str(port),
        WS_PROCESSES="2",
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    )
    server = manager.start_program("ws", [str(VENV_BIN / "supervisord"), "-c", str(WS_CONFIG)])
    wait_until(lambda: port_open(port), timeout=60, what="the ws process to listen")
    projector = EngineBookProjector()

    def daphnes() -> list[str]:
        return Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()

    async def run():
        feeds = [await Feed.open(f"127.0.0.1:{port}", session_cookie) for _ in range(8)]
        for feed in feeds:
            await feed.ws.send(
                json.dumps({"action": "subscribe", "channels": ["quotes"], "symbols": ["ACME"]})
            )
        await asyncio.sleep(0.5)
        await publish(projector, [top(1, 10001, 10003)])
        for feed in feeds:
            quote = await feed.receive_until(lambda m: m.get("bid") == "100.01")
            assert quote["type"] == "quote" and quote["ask"] == "100.03"
            await feed.ws.close()

    try:
        wait_until(lambda: len(daphnes()) == 2, timeout=30, what="two daphne processes")
        async_to_sync(run)()
    finally:
        manager.stop("ws")  # supervisord stops its daphne processes


def test_messages_that_arrive_together_leave_in_one_frame_in_order(session_cookie, daphne_server):
    projector = EngineBookProjector()

    async def run():
        feed = await Feed.open(daphne_server, session_cookie)
        await feed.ws.send(
            json.dumps({"action": "subscribe", "channels": ["depth"], "symbols": ["ACME"]})
        )
        assert (await feed.receive())["type"] == "snapshot"
        await asyncio.sleep(0.3)  # the hub's subscription is in place
        await publish(projector, [book(seq, "buy", 10000 + seq, seq, 1) for seq in range(1, 31)])
        frames, seqs = 0, []
        while len(seqs) < 30:
            frame = json.loads(await asyncio.wait_for(feed.ws.recv(), 5))
            frames += 1
            seqs += [m["seq"] for m in (frame if isinstance(frame, list) else [frame])]
        assert seqs == list(range(1, 31))  # in order, none lost
        assert frames < 30  # increments that came together left together, as JSON arrays
        await feed.ws.close()

    async_to_sync(run)()


def test_a_socket_that_stops_reading_gets_the_latest_quotes_and_holds_back_no_one(
    session_cookie, daphne_server
):
    """A real client that stops reading (its receive buffer kept small, so the server's side
    fills): the server conflates it to the latest quote per symbol instead of queuing every
    one, and the client that reads keeps getting every round."""
    symbols = [f"ST{i:02d}" for i in range(30)]
    for symbol in symbols:
        EquityFactory(symbol=symbol)
    projector = EngineBookProjector()
    rounds = 60

    def quotes(round_: int) -> list[tuple]:
        return [
            ("top", round_, time.time_ns(), symbol, 10000 + round_, 5, 20000, 7)
            for symbol in symbols
        ]

    async def run():
        host, port = daphne_server.split(":")
        fast = await Feed.open(daphne_server, session_cookie)
        stalled_sock = socket.socket()
        stalled_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled_sock.connect((host, int(port)))
        stalled = Feed(
            await connect(
                f"ws://{daphne_server}/ws/market/",
                sock=stalled_sock,
                origin=f"http://{daphne_server}",
                additional_headers={"Cookie": f"sessionid={session_cookie}"},
                max_queue=1,  # the client library buffers next to nothing either
            )
        )
        subscribe = {"action": "subscribe", "channels": ["quotes"], "symbols": symbols}
        for feed in (fast, stalled):
            await feed.ws.send(json.dumps(subscribe))
        await asyncio.sleep(0.5)

        fast_seen: dict[str, str] = {}
        fast_count = 0

        async def read_fast() -> None:
            nonlocal fast_count
            while True:
                message = await fast.receive()
                if message.get("type") == "quote":
                    fast_seen[message["symbol"]] = message["bid"]
                    fast_count += 1

        reader = asyncio.create_task(read_fast())
        for round_ in range(1, rounds + 1):
            await publish(projector, quotes(round_))
            await asyncio.sleep(0.06)  # the publisher sends a symbol at most 20 times a second
        final = f"{(10000 + rounds) / 100:.2f}"
        for _ in range(100):
            if all(fast_seen.get(s) == final for s in symbols):
                break
            await asyncio.sleep(0.05)
        reader.cancel()
        assert all(fast_seen.get(s) == final for s in symbols)  # the reader was not held back

        stalled_seen: dict[str, str] = {}
        stalled_count = 0
        while not all(stalled_seen.get(s) == final for s in symbols):
            message = await stalled.receive()
            if message.get("type") == "quote":
                stalled_seen[message["symbol"]] = message["bid"]
                stalled_count += 1
        assert stalled_count < fast_count / 2  # conflated, not every quote queued for it
        for feed in (fast, stalled):
            await feed.ws.close()

    async_to_sync(run)()
