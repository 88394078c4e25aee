"""What a results folder keeps to report and compare a run: the scenario as data, the
report's data, and both read back exactly."""

from __future__ import annotations

import json
import math

import pandas as pd

from sim.output.compare import compare_runs, flatten
from sim.output.fonts import _ranges, needs_font
from sim.output.rundata import (
    SAME,
    load_saved,
    report_tables,
    run_about,
    scenario_data,
    write_run_data,
)
from sim.output.tables import write_tables


def _saved(result, folder, contributions=None):
    folder.mkdir(parents=True, exist_ok=True)
    write_tables(result, folder)
    data = report_tables(result, workers=1)
    write_run_data(folder, scenario_data(result.scenario), data, contributions)
    return load_saved(folder, run_about(result), contributions is not None), data


def test_the_scenario_as_data_names_every_variant_and_its_changes(small_run):
    result, _ = small_run
    data = scenario_data(result.scenario)
    json.dumps(data, allow_nan=False)  # plain JSON
    assert [v["name"] for v in data["variants"]] == list(result.scenario.variant_names)
    assert data["procedures"]["proc"]["target_days"] > 0
    package = next(v for v in data["variants"] if v["name"] == "package")
    assert [r["type"] for r in package["reforms"]] == ["time_limit", "online", "add_staff"]
    assert package["touches"] == ["proc"]
    baseline = data["models"]["baseline"]["procedures"]["proc"]["procedure"]
    changed = data["models"]["package"]["procedures"]["proc"]
    assert changed != SAME and changed["procedure"] != baseline
    assert baseline["steps"][0]["handling"]["type"]  # a distribution as its spec


def test_saved_tables_read_back_exactly(small_run, tmp_path):
    result, contributions = small_run
    saved, data = _saved(result, tmp_path / "run", contributions)
    for name in ("summary", "comparison", "agencies"):
        mine, back = getattr(result, name), getattr(saved, name)
        numbers = mine.select_dtypes("number").columns
        assert list(back.columns) == list(mine.columns)
        for column in numbers:  # floats written and read back bit for bit
            a, b = mine[column].to_numpy(float), back[column].to_numpy(float)
            assert all(
                x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)
            )
    for name, frame in data.items():
        back = getattr(saved, name)
        assert len(back) == len(frame) and list(back.columns) == [str(c) for c in frame.columns]
        pd.testing.assert_frame_equal(
            back.reset_index(drop=True), frame.reset_index(drop=True), check_dtype=False
        )
    assert saved.contributions is not None and len(saved.contributions) == len(contributions)


def test_compare_finds_a_staff_change_by_its_path(small_run, tmp_path):
    result, _ = small_run
    first, _ = _saved(result, tmp_path / "a")
    second, _ = _saved(result, tmp_path / "b")
    assert compare_runs(first, second).changes == []
    scenario = json.loads(json.dumps(second.scenario))
    scenario["models"]["package"]["agencies"]["review"]["staff"] += 5
    changed = compare_runs(first, second.__class__(**{**second.__dict__, "scenario": scenario}))
    assert [c[0] for c in changed.changes] == ["models.package.agencies.review.staff"]
    figures = changed.figures
    assert set(figures["figure"]) == {"share_within_target", "mean_days", "p90_days"}
    assert (figures["change"] == 0).all()  # the same tables: no change, whatever the interval


def test_flatten_keys_list_items_by_their_ids():
    data = {"steps": [{"id": "a", "x": 1}, {"id": "b", "x": [1, 2]}], "plain": [1, 2]}
    assert flatten(data) == {
        "steps[a].id": "a",
        "steps[a].x": 1,
        "steps[b].id": "b",
        "steps[b].x": [1, 2],
        "plain": [1, 2],
    }


def test_the_font_carries_only_the_characters_a_page_shows():
    assert needs_font("abc 模拟 report 模 ⚠\n") == "⚠拟模"  # in code-point order
    assert _ranges("ABCE模") == "U+41-43, U+45, U+6A21"
