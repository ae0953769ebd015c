"""How long ``cxlab`` takes before it does anything: best of N wall and CPU time of ``--help``, ``--version``
and one group's ``--help``, each in a fresh process (issue 16's target: ``cxlab --help`` under 1 s).

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["--version"], ["journey", "--help"], ["next", "--help"])


def cxlab() -> str:
    """The ``cxlab`` script beside this interpreter (the venv's), else the one on PATH."""
    here = Path(sys.executable).with_name("cxlab")
    return str(here) if here.exists() else shutil.which("cxlab") or "cxlab"


def once(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cxlab ARGS``."""
    t = time.perf_counter()
    p = subprocess.Popen([cxlab(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"cxlab {' '.join(args)} exited with {status}")
    return time.perf_counter() - t, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"| command | wall (best of {runs}) | CPU |\n|---|---:|---:|")
    for args in COMMANDS:
        results = [once(args) for _ in range(runs)]
        wall, cpu = min(r[0] for r in results), min(r[1] for r in results)
        print(f"| `cxlab {' '.join(args)}` | {wall:.2f} s | {cpu:.2f} s |")


if __name__ == "__main__":
    main()
