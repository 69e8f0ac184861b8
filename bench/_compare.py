"""A benchmark on two revisions, run alternately: the working tree against a base revision.

    .venv/bin/python bench/_compare.py --base REV [--rounds N] -- bench/order_flow.py --skip-applier

On a shared machine whose speed drifts (the Python speed check has read 100 to 200 us within the
hour), a figure taken before a change and one taken after it compare the machine's two moments
as much as the code. Here each round runs the benchmark on both, in A-B then B-A order on
alternate rounds, so a drift weighs on both sides alike; the table gives each row's figures per
round and the median of the per-round ratios (working tree / base).

The base is checked out (``git worktree``, detached) in a temporary folder that shares this
checkout's virtualenv; its engine core is compiled there when its ``core.py`` differs from the
working tree's, else the compiled module is copied. Each run writes its rows to its own tree's
``bench/results/<script>.json`` (the benchmarks' common format), which is what is compared; the
lines the benchmark prints about CPU per request are shown per run as well.

Calibration: ``--base 10bfa7e --rounds 2 -- bench/engine_core.py --events 200000 --rounds 1``
(2026-12-06) compares code that is the same on both sides (the engine core did not change), and
its ratios read 0.83 to 0.92: a difference of that size needs more rounds before it means
anything.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINE = Path("apps/matching/engine")
SHOWN_LINES = ("CPU per request", "python speed", "offered")


def checkout(base: str, folder: Path) -> Path:
    """The base revision in ``folder``, ready to run benchmarks."""
    tree = folder / "base"
    shared = REPO.parent / "shared"  # the design's reference book, beside the checkout
    if shared.exists():
        (folder / "shared").symlink_to(shared)
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), base], cwd=REPO, check=True)
    (tree / ".venv").symlink_to(REPO / ".venv")
    if filecmp.cmp(REPO / ENGINE / "core.py", tree / ENGINE / "core.py", shallow=False):
        for built in (REPO / ENGINE).glob("_core_native*.so"):
            shutil.copy2(built, tree / ENGINE / built.name)
    else:
        env = {**os.environ, "PY": str(REPO / ".venv" / "bin" / "python")}
        subprocess.run(["scripts/build_engine.sh"], cwd=tree, env=env, check=True)
    return tree


def run(tree: Path, argv: list[str]) -> tuple[list[dict], list[str]]:
    """One run of the benchmark in ``tree``: its result rows and the lines worth showing."""
    script = Path(argv[0])
    results = tree / "bench" / "results" / f"{script.stem}.json"
    results.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, *argv], cwd=tree, capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not results.exists():
        raise RuntimeError(
            f"{script} failed in {tree}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    shown = [
        line.strip() for line in done.stdout.splitlines() if line.strip().startswith(SHOWN_LINES)
    ]
    return json.loads(results.read_text()), shown


def ratio(head: float | None, base: float | None) -> float | None:
    return head / base if head and base else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("benchmark", nargs=argparse.REMAINDER, help="-- script [its arguments]")
    args = parser.parse_args()
    argv = [a for a in args.benchmark if a != "--"]
    if not argv:
        parser.error("name the benchmark after --")
    folder = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    runs: dict[str, list[list[dict]]] = {"base": [], "head": []}
    try:
        trees = {"base": checkout(args.base, folder), "head": REPO}
        for round_number in range(args.rounds):
            order = ["base", "head"] if round_number % 2 == 0 else ["head", "base"]
            for side in order:
                rows, shown = run(trees[side], argv)
                runs[side].append(rows)
                print(f"round {round_number + 1}, {side}:")
                for line in shown:
                    print(f"    {line}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder / "base")], cwd=REPO)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{' '.join(argv)}: base {args.base} against the working tree, {args.rounds} rounds")
    # Rows are matched by name: a row one side's code does not produce shows as None there.
    names = [row["name"] for row in runs["head"][0]]
    names += [row["name"] for row in runs["base"][0] if row["name"] not in names]
    for name in names:
        print(name)
        for key, label in (
            ("events_per_s", "events/s"),
            ("p50_us", "p50 us"),
            ("p99_us", "p99 us"),
        ):
            base = [_value(rows, name, key) for rows in runs["base"]]
            head = [_value(rows, name, key) for rows in runs["head"]]
            ratios = [r for r in map(ratio, head, base) if r is not None]
            median = f"{statistics.median(ratios):.2f}" if ratios else "-"
            print(f"    {label:<9} base {base}  head {head}  median head/base {median}")


def _value(rows: list[dict], name: str, key: str) -> float | None:
    return next((row.get(key) for row in rows if row["name"] == name), None)


if __name__ == "__main__":
    main()
