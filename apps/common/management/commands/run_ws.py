"""``manage.py run_ws``: the WebSocket server (Procfile ``ws``), several daphne processes on
one port.

One daphne process runs one event loop on one core, and market data fan-out is CPU-bound
per frame (docs/marketdata.md): with one process the machine's second core sat out while
daphne waited. Each process here gets its own listening socket, all bound to the same
address with ``SO_REUSEPORT``, so the kernel spreads new connections over them; each process
runs its own market data hub (one pub/sub subscription per process), so nothing is shared
between them but Redis and Postgres. Linux balances ``SO_REUSEPORT`` sockets; elsewhere use
``--processes 1``.

The command supervises its children: SIGINT/SIGTERM stop them all, and if one exits the
others are stopped and the command exits with its status, so honcho or compose sees it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

APPLICATION = "brokerage.asgi:application"


def _die_with_parent() -> None:
    """Linux: the kernel sends the child SIGTERM when this process dies, even by SIGKILL, so
    no daphne outlives its supervisor holding the port."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class Command(BaseCommand):
    help = "Serve WebSockets with several daphne processes on one port (SO_REUSEPORT)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--bind", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.WS_PROCESSES,
            help="daphne processes (default: WS_PROCESSES, 2)",
        )

    def handle(self, *args, **options) -> None:
        count = options["processes"]
        if count < 1:
            raise CommandError("--processes must be at least 1.")
        if count > 1 and not hasattr(socket, "SO_REUSEPORT"):
            raise CommandError("SO_REUSEPORT is not available here: use --processes 1.")
        children: list[subprocess.Popen] = []
        for _ in range(count):
            sock = listening_socket(options["bind"], options["port"])
            children.append(
                subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments, no shell)
                    [sys.executable, "-m", "daphne", "--fd", str(sock.fileno()), APPLICATION],
                    pass_fds=[sock.fileno()],
                    preexec_fn=_die_with_parent,  # runs before exec; no threads here yet
                )
            )
            # The child holds the socket now; if it dies, the kernel stops routing to it.
            sock.close()
        self.stdout.write(
            f"run_ws: {count} daphne processes on {options['bind']}:{options['port']}"
            f" (pids {', '.join(str(c.pid) for c in children)})"
        )
        stopping = False

        def stop(signum, _frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        status = 0
        while not stopping:
            exited = [c for c in children if c.poll() is not None]
            if exited:
                status = exited[0].returncode or 1
                self.stderr.write(f"run_ws: daphne {exited[0].pid} exited ({status}); stopping")
                break
            time.sleep(0.5)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if status:
            sys.exit(status)
