"""`make_plan` alone, once, in this process: seconds on stdout. For comparing two versions of
the planner in interleaved fresh processes (noise on a shared machine hits both alike).

    .venv/bin/python bench/plan_only.py 1000     # 64 x 1000 x 6 = 384,000 random flows
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plan_scale import build

from auditor.plan import make_plan


def main() -> None:
    flows, records = build(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, "random")
    start = time.perf_counter()
    make_plan(flows, records, site="bench.example.com")
    print(f"{time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
