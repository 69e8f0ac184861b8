"""Create the application database named in DATABASE_URL if it does not exist yet.

With --drop, drop it first (make demo-reset); refuses outside development.
"""

import os
import sys

import psycopg
from psycopg import sql

url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokerage")
base, _, name = url.rpartition("/")
name = name.split("?")[0]
with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
    if "--drop" in sys.argv:
        if os.environ.get("BROKERAGE_ENV", "development") != "development":
            raise SystemExit("Refusing to drop a database outside development.")
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        print(f"Dropped database {name}.")
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created database {name}.")
