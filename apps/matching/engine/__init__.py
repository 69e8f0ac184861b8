"""The pure-Python matching engine core (no Django, no I/O, no clock). See docs/engine.md.

``Engine`` and ``InstrumentSpec`` come from the mypyc-compiled copy of ``core.py`` when one was
built (scripts/build_engine.sh) from exactly the current source, else from ``core.py`` itself.
Set BROKERAGE_ENGINE_PURE=1 to force the interpreted core.
"""

import hashlib
import os
from pathlib import Path
from types import ModuleType

from apps.matching.engine import core as pure_core
from apps.matching.engine.core import BUY, SELL
from apps.matching.engine.records import (
    Accepted,
    AddInstrument,
    AuctionIndicative,
    AuctionResult,
    BookDelta,
    Cancel,
    Canceled,
    Expired,
    ExpireOrders,
    Halt,
    MassCancel,
    NewOrder,
    Rejected,
    Replace,
    Replaced,
    Resume,
    SessionChange,
    SetSession,
    TopOfBook,
    Trade,
    Triggered,
    describe,
)
from apps.matching.engine.wire import command_from_wire, event_from_wire, from_wire, to_wire


def _native_core() -> ModuleType | None:
    if os.environ.get("BROKERAGE_ENGINE_PURE"):
        return None
    try:
        from apps.matching.engine import _core_native  # type: ignore[attr-defined]
    except ImportError:
        return None
    digest = hashlib.sha256(Path(pure_core.__file__).read_bytes()).hexdigest()
    return _core_native if digest == _core_native.SOURCE_DIGEST else None


native_core = _native_core()
core_impl: ModuleType = native_core or pure_core
COMPILED = native_core is not None
Engine = core_impl.Engine
InstrumentSpec = core_impl.InstrumentSpec
__all__ = [
    "BUY",
    "COMPILED",
    "SELL",
    "Accepted",
    "AddInstrument",
    "AuctionIndicative",
    "AuctionResult",
    "BookDelta",
    "Cancel",
    "Canceled",
    "Engine",
    "ExpireOrders",
    "Expired",
    "Halt",
    "InstrumentSpec",
    "MassCancel",
    "NewOrder",
    "Rejected",
    "Replace",
    "Replaced",
    "Resume",
    "SessionChange",
    "SetSession",
    "TopOfBook",
    "Trade",
    "Triggered",
    "command_from_wire",
    "describe",
    "event_from_wire",
    "from_wire",
    "to_wire",
]
