"""Real processes for end-to-end tests: our own management commands, started as subprocesses
against the test database and the test's stream prefix, killed (SIGKILL) at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"


def test_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, every: float = 0.05
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class ProcessManager:
    """Starts ``manage.py`` commands with the test's environment; logs go to ``log_dir``."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": test_database_url(),
            "ENGINE_STREAM_PREFIX": settings.ENGINE_STREAM_PREFIX,
            "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "DEMO_LIQUIDITY": "0",
            **env,
        }
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *manage_args: str) -> subprocess.Popen:
        return self.start_program(name, [str(PYTHON), "manage.py", *manage_args])

    def start_program(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.running.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def stop(self, name: str, timeout: float = 20.0) -> None:
        """SIGTERM and wait (a supervisor stops its children on it; SIGKILL would orphan them),
        then SIGKILL if it is still running."""
        proc = self.running.pop(name)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)


def matching_stack_ready(shard: int = 0) -> bool:
    """The matcher leads the shard (its first snapshot is stored) and the applier's consumer
    group exists: commands published from now on are matched and applied."""
    from apps.matching.transport import output_stream, redis_client, shard_key

    client = redis_client()
    if not client.exists(shard_key(shard, "snapshot")):
        return False
    try:
        groups = client.xinfo_groups(output_stream(shard))
    except Exception:  # the stream does not exist yet
        return False
    return any(group["name"] == b"applier" for group in groups)


def start_matching_stack(
    manager: ProcessManager, shard: int = 0, *, session: str = "continuous"
) -> None:
    """Start the shard's matcher and applier and wait until both are ready."""
    manager.start("matcher", "run_matcher", "--shard", str(shard), "--session", session)
    manager.start("applier", "run_applier", "--shard", str(shard))
    wait_until(
        lambda: matching_stack_ready(shard), timeout=60, what="the matcher and applier to start"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_web(manager: ProcessManager, *, workers: int = 2, timeout: int = 30) -> str:
    """gunicorn serving the project, as in production (gunicorn.conf.py), with its worker
    ``timeout``; returns its base URL once it answers."""
    port = free_port()
    manager.start_program(
        "web",
        [str(REPO / ".venv" / "bin" / "gunicorn"), "brokerage.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", str(timeout)],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except OSError:
            return False

    wait_until(answers, timeout=60, what="gunicorn to answer")
    return url


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_daphne(manager: ProcessManager) -> int:
    """daphne serving the ASGI app (WebSockets), as in production; returns its port once it
    listens."""
    port = free_port()
    manager.start_program(
        "daphne",
        [
            str(PYTHON),
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "brokerage.asgi:application",
        ],
    )
    wait_until(lambda: port_open(port), timeout=60, what="daphne to listen")
    return port
