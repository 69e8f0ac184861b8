"""Real servers for browser tests: gunicorn (HTTP) and daphne (WebSockets) on free ports, the
matcher, the applier and the market-data process, all pointed at the test database and this
test's Redis prefixes, and headless Debian chromium driven by Playwright (never
``playwright install``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from brokerage.settings.messaging import channel_layers
from tests.processes import free_port, port_open, wait_until

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


class Servers:
    """The processes of one test; ``logs()`` says what they printed when something fails."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.web_port = free_port()
        self.ws_port = free_port()
        env["WEBSOCKET_BASE_URL"] = f"ws://127.0.0.1:{self.ws_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115  (closed with the process)
        proc = subprocess.Popen(
            list(args), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs[name] = proc
        return proc

    def start_all(self) -> None:
        bin_dir = REPO / ".venv" / "bin"
        python = str(bin_dir / "python")
        self.start(
            "web",
            str(bin_dir / "gunicorn"),
            "brokerage.wsgi",
            "--bind",
            f"127.0.0.1:{self.web_port}",
            "--workers",
            "2",
        )
        self.start(
            "ws",
            str(bin_dir / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(self.ws_port),
            "brokerage.asgi:application",
        )
        self.start(
            "matcher", python, "manage.py", "run_matcher", "--shard", "0", "--session", "continuous"
        )
        self.start("applier", python, "manage.py", "run_applier", "--shard", "0")
        # Depth and quotes from the matcher's output; no simulated market, so prices are ours.
        self.start(
            "marketdata",
            python,
            "manage.py",
            "run_marketdata",
            "--no-reference-feed",
            "--demo-liquidity",
            "off",
        )
        wait_until(lambda: port_open(self.web_port), 90, "gunicorn")
        wait_until(lambda: port_open(self.ws_port), 90, "daphne")
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited:\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(
            "Debian chromium is not installed (/usr/bin/chromium); `make install` installs it "
            "when run as root, or: apt-get install -y chromium"
        )
    pytest.importorskip("playwright.sync_api", reason="playwright is in requirements/dev.txt")
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


@pytest.fixture
def servers(transactional_db, stream_prefix, settings, tmp_path, monkeypatch) -> Iterator[Servers]:
    """gunicorn, daphne, matcher and applier against the test database, this test's engine
    stream prefix and a channel layer prefix of its own (so a running demo never sees us)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    layer_prefix = f"test-browser-{uuid.uuid4().hex[:10]}"
    settings.CHANNEL_LAYERS = channel_layers(redis_url=settings.REDIS_URL, prefix=layer_prefix)
    name = settings.DATABASES["default"]["NAME"]
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "ENGINE_STREAM_PREFIX": stream_prefix,
        "CHANNEL_LAYER_PREFIX": layer_prefix,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "brokerage.settings",
    }
    servers = Servers(env, tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
