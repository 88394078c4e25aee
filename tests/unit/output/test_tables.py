"""The tables: written side by side in chunks, the same bytes as written whole; what a run
keeps by default and with --keep; Parquet; progress."""

from __future__ import annotations

import pandas as pd

import sim.output.tables
from sim import load_scenario
from sim.analysis import summarize_run
from sim.output.tables import write_tables
from sim.run.experiment import run_experiment


def test_tables_formatted_side_by_side_are_the_same_bytes(scenario_path, tmp_path, monkeypatch):
    result = summarize_run(run_experiment(load_scenario(scenario_path), replications=2, seed=3))
    monkeypatch.setattr(sim.output.tables, "CSV_CHUNK_ROWS", 97)  # many chunks, odd edges
    keep = ("cases", "steps")
    one = write_tables(result, tmp_path / "one", workers=1, keep=keep)
    two = write_tables(result, tmp_path / "two", workers=2, keep=keep)
    assert [path.name for path in one] == [path.name for path in two]
    for first, second in zip(one, two, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    cases = (tmp_path / "one" / "cases.csv").read_text(encoding="utf-8")
    assert cases == result.cases.to_csv(index=False, lineterminator="\n")
    assert len(result.cases) > 3 * 97


def test_a_run_keeps_the_first_replications_cases_unless_asked(scenario_path, tmp_path):
    result = summarize_run(run_experiment(load_scenario(scenario_path), replications=2, seed=3))
    written = write_tables(result, tmp_path / "default")
    names = [path.name for path in written]
    assert names == ["cases.csv", "summary.csv", "comparison.csv", "agencies.csv"]
    first = result.cases[result.cases["replication"] == 0]
    assert 0 < len(first) < len(result.cases)
    text = (tmp_path / "default" / "cases.csv").read_text(encoding="utf-8")
    assert text == first.to_csv(index=False, lineterminator="\n")
    # --steps all writes every kept step row; --keep steps the first replication's.
    kept = write_tables(result, tmp_path / "steps", keep=("steps",))
    assert [p.name for p in kept][:2] == ["cases.csv", "steps.csv"]
    steps = pd.read_csv(tmp_path / "steps" / "steps.csv")
    assert set(steps["replication"]) == {0} and len(steps) == int(
        (result.steps["replication"] == 0).sum()
    )


def test_parquet_holds_the_same_rows_and_progress_counts_them(scenario_path, tmp_path):
    result = summarize_run(
        run_experiment(load_scenario(scenario_path), replications=2, seed=3, steps="all")
    )
    seen = []
    written = write_tables(
        result,
        tmp_path,
        steps="all",
        keep=("cases",),
        format="parquet",
        progress=lambda done, total: seen.append((done, total)),
    )
    names = [path.name for path in written]
    assert names[:2] == ["cases.parquet", "steps.parquet"]
    assert "cases.csv" not in names and "summary.csv" in names
    back = pd.read_parquet(tmp_path / "cases.parquet")
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), result.cases.reset_index(drop=True), check_dtype=False
    )
    steps = pd.read_parquet(tmp_path / "steps.parquet")
    assert len(steps) == len(result.steps)
    total = len(result.cases) + len(result.steps) + len(result.summary)
    total += len(result.comparison) + len(result.agencies)
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_formula_cells_are_neutralised_and_numbers_stay_numbers():
    # OWASP CSV injection: a reform `label:` beginning with `=` went raw into cases.csv.
    import csv
    import io

    import pandas as pd

    from sim.output.tables import _csv_chunk

    frame = pd.DataFrame(
        {
            "reforms_fired": ["=HYPERLINK(\"http://x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tx",
                              "CRx", "plain", "-1.5", "+3", "1e-3"],
            "days": [-1.5, 2.0, -3.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "count": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )  # fmt: skip
    # A carriage return ends a row for CSV readers: checked in the text, then left out.
    assert "'\rx" in _csv_chunk((frame.replace("CRx", "\rx"), 0))
    text = _csv_chunk((frame, 0))
    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    cells = [row[0] for row in rows]
    assert cells[:5] == ["'" + value for value in frame["reforms_fired"][:5]]
    assert cells[6:] == ["plain", "-1.5", "+3", "1e-3"]  # text that is a number stays
    assert rows[0][1:] == ["-1.5", "-1"]  # numbers are numbers
    # Nothing to neutralise: the same text as pandas writes.
    safe = frame.iloc[6:]
    assert _csv_chunk((safe, 0)) == safe.to_csv(index=False, lineterminator="\n")
