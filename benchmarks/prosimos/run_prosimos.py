"""Run the standard model in Prosimos and print one JSON line: cases, seconds, cycle times.

Runs in the separate venv that ``benchmarks/run_benchmarks.py`` makes for Prosimos (it
is never a dependency of the project): ``python run_prosimos.py CASES SEED``. The time
measured is Prosimos' simulation with its event log written to a CSV file (its full
records); reading the log back for the cycle times is not timed.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from prosimos.simulation_engine import run_simulation

HERE = Path(__file__).resolve().parent
DAY = 86_400.0


def main() -> None:
    cases = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    random.seed(seed)
    np.random.seed(seed)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log.csv"
        stats = Path(folder) / "stats.csv"
        started = time.perf_counter()
        run_simulation(
            str(HERE / "standard_model.bpmn"),
            str(HERE / "standard_model.json"),
            cases,
            stat_out_path=str(stats),
            log_out_path=str(log),
            starting_at="2015-01-05T00:00:00.000000+00:00",
        )
        seconds = time.perf_counter() - started
        first: dict[str, datetime] = {}
        last: dict[str, datetime] = {}
        with log.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                case = row["case_id"]
                enabled = datetime.fromisoformat(row["enable_time"])
                ended = datetime.fromisoformat(row["end_time"])
                if case not in first or enabled < first[case]:
                    first[case] = enabled
                if case not in last or ended > last[case]:
                    last[case] = ended
    cycle = np.array([(last[c] - first[c]).total_seconds() / DAY for c in first])
    print(
        json.dumps(
            {
                "cases": len(cycle),
                "seconds": seconds,
                "mean": float(cycle.mean()),
                "p90": float(np.quantile(cycle, 0.9)),
            }
        )
    )


if __name__ == "__main__":
    main()
