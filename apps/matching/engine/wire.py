"""Wire format of commands and events for the Redis streams (``engine:in`` / ``engine:out``).

A command or event travels as its tuple: an array of primitives (str, int, bool, None; order
ids as the caller gave them), ``kind`` first. msgpack packs tuples as arrays, so ``to_wire`` is
nearly free; ``from_wire`` checks the kind and length and returns the named record (a tuple
subclass the engine consumes as is). Layouts are listed in docs/engine.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.matching.engine.records import COMMANDS, EVENTS, Record


class WireError(ValueError):
    """A message that is not a known command or event layout."""


def to_wire(item: tuple) -> tuple:
    """A command or event as a tuple of primitives (msgpack-ready)."""
    return tuple(item) if type(item) is not tuple else item


def from_wire(data: Sequence[Any]) -> Record:
    """Parse one command or event array (list or tuple) into its named record."""
    if not data:
        raise WireError("empty message")
    kind = data[0]
    cls = COMMANDS.get(kind) or EVENTS.get(kind)
    if cls is None:
        raise WireError(f"unknown kind {kind!r}")
    if len(data) != len(cls.FIELDS):
        raise WireError(f"{kind}: expected {len(cls.FIELDS)} fields, got {len(data)}")
    return tuple.__new__(cls, data)


def command_from_wire(data: Sequence[Any]) -> Record:
    """Like :func:`from_wire`, for the input stream: refuses event kinds."""
    if not data or data[0] not in COMMANDS:
        raise WireError(f"not a command: {data[:1]!r}")
    return from_wire(data)


def event_from_wire(data: Sequence[Any]) -> Record:
    """Like :func:`from_wire`, for the output stream: refuses command kinds."""
    if not data or data[0] not in EVENTS:
        raise WireError(f"not an event: {data[:1]!r}")
    return from_wire(data)
