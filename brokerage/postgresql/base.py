"""Django's PostgreSQL backend with one change: how a persistent connection is judged usable.

With ``CONN_HEALTH_CHECKS`` Django checks a reused connection at the first query of every
request, and its check is a ``SELECT 1``: a round trip on every request, about as much as one of
the order path's own statements. A connection that PostgreSQL has dropped (a restart, an
administrator's ``pg_terminate_backend``, an idle timeout) says so on its socket: the server
sends its error and closes, so the idle socket turns readable. An idle connection is sent
nothing unasked otherwise (this project does not ``LISTEN`` on Django's connections), so a
readable socket, or a connection psycopg already knows is broken, is reason enough to reconnect,
and a quiet one is fit for use. A connection that died without a word (a network partition)
fails its next query either way, and Django replaces it at the end of that request.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
        return not readable
