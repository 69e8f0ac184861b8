"""gunicorn's settings for the web server, read from the working directory by every gunicorn
started in the repository (Procfile, compose, Dockerfile, tests, benchmarks); flags given on the
command line win.

Threaded workers (``gthread``): a server-sent event stream (``/v1/events/trades``) holds its
request for as long as the partner listens. A sync worker holding one serves nothing else (two
streams stopped the whole server), and the arbiter kills it at ``timeout`` since it cannot report
in while it streams; a stream holds one thread of a threaded worker, whose main thread keeps
reporting. The API caps streams per process below ``threads`` (``API_EVENT_STREAMS_PER_PROCESS``)
so they never take every thread. Threads also keep API clients' connections alive between
requests, which a sync worker closes after each one.

A threaded worker is not killed for a request that hangs (its main thread keeps reporting), so
the web server's database statements get a timeout instead (``DATABASE_STATEMENT_TIMEOUT_MS``,
30 s like the worker timeout): a request stuck behind a lock answers 503 and frees its thread.
"""

import os

workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
keepalive = 5
graceful_timeout = 5
raw_env = [
    "DATABASE_STATEMENT_TIMEOUT_MS=" + os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "30000")
]
