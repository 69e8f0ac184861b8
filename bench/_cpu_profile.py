"""Run a module under cProfile timed by process CPU time, not wall time: on a shared machine a
process waiting for a core would otherwise look busy in whatever it was doing when preempted.

    python bench/_cpu_profile.py OUT.prof -m daphne ARGS...

Stats are written when the module returns (daphne returns on SIGTERM/SIGINT).
"""

from __future__ import annotations

import cProfile
import runpy
import sys
import time


def main() -> None:
    out, flag, module, *args = sys.argv[1:]
    assert flag == "-m", "usage: _cpu_profile.py OUT.prof -m MODULE [ARGS...]"
    sys.argv = [module, *args]
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
