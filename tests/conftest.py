"""Fixtures every test may use. Factories live beside the tests of their app."""

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import channels.consumer
import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from psycopg import pq

from apps.matching.transport import delete_prefix_keys
from tests.trading import Market


@pytest.fixture(autouse=True, scope="session")
def _private_cache_keys() -> Iterator[None]:
    """A cache key space of this test process's own. The instruments' generation token and the
    API throttle's logs live in the cache; with a key space shared by the parallel test
    processes, another process's instrument save dropped this one's instrument copies in the
    middle of a test. The processes a test starts get the same prefix (CACHE_KEY_PREFIX)."""
    from django.conf import settings
    from django.test import override_settings

    prefix = f"test-cache-{uuid.uuid4().hex[:10]}"
    caches = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    with override_settings(CACHES=caches):
        yield
    delete_prefix_keys(prefix)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Password hashing is the slowest thing in most tests and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sync_thread_hops(monkeypatch) -> list[int]:
    """One entry each time Channels, before dispatching a message to a consumer's handler, hops
    to the process's thread for synchronous code to close stale database connections."""
    hops: list[int] = []
    close_old_connections = channels.consumer.aclose_old_connections

    async def counted() -> None:
        hops.append(1)
        await close_old_connections()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    return hops


class RoundTrips:
    """The round trips to PostgreSQL on Django's connection inside ``counting()``: how often the
    client sent something and then waited for the server's answer, read from libpq's trace of
    the protocol messages (a statement, a pipeline's flush or sync, a BEGIN or COMMIT). ``trips``
    lists, per round trip, what the client sent: message names, with a statement's first word.
    psycopg preparing a statement (once per connection, at its fifth use) is not counted: it
    depends on what the connection ran before, not on the code under test."""

    def __init__(self) -> None:
        self.trips: list[list[str]] = []

    @property
    def count(self) -> int:
        return len(self.trips)

    @contextmanager
    def counting(self) -> Iterator[None]:
        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        with tempfile.TemporaryFile("w+") as trace:
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                yield
            finally:
                pgconn.untrace()
            trace.seek(0)
            # Each line: direction (F from the client, B from the server), length, message name,
            # then its contents: a Parse's statement name ("" for an unnamed one), then its text.
            messages = [line.rstrip("\n").split("\t") for line in trace if line[:1] in ("F", "B")]
        trips: list[list[str]] = []
        sending = False
        for direction, _length, name, *contents in messages:
            if direction == "B":
                sending = False
                continue
            if not sending:
                trips.append([])
                sending = True
            text = " ".join(contents).split()
            if name == "Parse" and text and text[0] != '""':
                trips[-1].append("Prepare")
            elif name in ("Query", "Parse") and text:
                first_word = text[0 if name == "Query" else 1].strip('"')
                trips[-1].append(f"{name} {first_word}")
            else:
                trips[-1].append(name)
        self.trips = [trip for trip in trips if trip != ["Prepare", "Sync"]]


@pytest.fixture
def round_trips() -> RoundTrips:
    return RoundTrips()


@pytest.fixture
def stream_prefix(settings):
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings.ENGINE_STREAM_PREFIX = prefix
    yield prefix
    delete_prefix_keys(prefix)


@pytest.fixture
def market(stream_prefix, django_capture_on_commit_callbacks):
    return Market()


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """Call a service and run its after-commit publishes, as a real commit would."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def sign_in_verified(client: Client, user: AbstractBaseUser) -> Client:
    """Log ``user`` in on ``client`` and mark the session OTP-verified, as django_otp.login does
    after a valid token (without having to compute one)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def otp_client(db) -> Callable[[AbstractBaseUser], Client]:
    """``otp_client(user)``: a test client signed in as ``user`` with a verified second factor.
    Each call returns a fresh client, so one test can act as several users."""

    def make(user: AbstractBaseUser) -> Client:
        return sign_in_verified(Client(), user)

    return make


@pytest.fixture
def acme(market):
    """An equity listed on the test market, referenced at 100.00 (band 90-110, collar 5%)."""
    from decimal import Decimal

    from tests.instruments.factories import EquityFactory

    instrument = EquityFactory(symbol="ACME", reference_price=Decimal("100.00"))
    market.list(instrument)
    return instrument
