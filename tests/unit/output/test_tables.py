"""The CSV tables: written side by side in chunks, the same bytes as written whole."""

from __future__ import annotations

import sim.output.tables
from sim import load_scenario
from sim.analysis import summarize_run
from sim.output.tables import write_tables
from sim.run.experiment import run_experiment


def test_tables_formatted_side_by_side_are_the_same_bytes(scenario_path, tmp_path, monkeypatch):
    result = summarize_run(run_experiment(load_scenario(scenario_path), replications=2, seed=3))
    monkeypatch.setattr(sim.output.tables, "CSV_CHUNK_ROWS", 97)  # many chunks, odd edges
    one = write_tables(result, tmp_path / "one", workers=1)
    two = write_tables(result, tmp_path / "two", workers=2)
    assert [path.name for path in one] == [path.name for path in two]
    for first, second in zip(one, two, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    cases = (tmp_path / "one" / "cases.csv").read_text(encoding="utf-8")
    assert cases == result.cases.to_csv(index=False, lineterminator="\n")
    assert len(result.cases) > 3 * 97
