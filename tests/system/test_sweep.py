"""Sweeps: a grid of settings with common random numbers, resumable, on any executor."""

from __future__ import annotations

import importlib
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.sweep import cheapest_points, setting_columns
from tests.factories import intake_review_scenario

RUNNER = CliRunner()
SETTINGS = ["agencies.review.staff=1..3", "procedures.proc.arrivals_per_day=1,2"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return intake_review_scenario(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def table(scenario):
    return sim.sweep(scenario, SETTINGS, replications=2, seed=4, variants=["faster_review"])


def test_the_table_is_tidy(table):
    assert setting_columns(table) == ["agencies.review.staff", "procedures.proc.arrivals_per_day"]
    # 3 x 2 points, two variants, one procedure.
    assert len(table) == 6 * 2 and table["point"].nunique() == 6
    assert list(table["agencies.review.staff"].unique()) == [1, 2, 3]
    # Total staff follows the review's staff (the desk keeps its 2).
    assert (table["total_staff"] == table["agencies.review.staff"] + 2).all()
    assert table["share_within_target_low"].le(table["share_within_target"]).all()
    # More staff at the review never makes the baseline slower here (common random numbers).
    base = table[(table["variant"] == "baseline") & (table.iloc[:, 2] == 2)]
    assert base["mean_days"].is_monotonic_decreasing


def test_a_point_is_the_run_with_the_same_values(scenario, table):
    # The scenario's own values (review staff 2, 2 arrivals a day) as a point: the same
    # numbers as a run with the same seed, since every point draws the same random numbers.
    run = sim.run(scenario, replications=2, seed=4, variants=["faster_review"]).summary
    point = table[(table["agencies.review.staff"] == 2) & (table.iloc[:, 2] == 2)]
    for column in ("share_within_target", "mean_days", "p90_days", "p90_days_high"):
        assert point[column].tolist() == run[column].tolist(), column


def test_a_sweep_resumes_from_its_kept_replications(scenario, tmp_path, monkeypatch):
    cache = tmp_path / "runs"
    first = sim.sweep(scenario, SETTINGS[:1], replications=2, seed=4, cache=cache)
    assert len(list(cache.glob("*/replication_*.npz"))) == 3 * 2

    def no_more(*args, **kwargs):
        raise AssertionError("a kept replication was computed again")

    experiment = importlib.import_module("sim.run.experiment")  # `sim.run` is the function
    monkeypatch.setattr(experiment, "run_replication", no_more)
    again = sim.sweep(scenario, SETTINGS[:1], replications=2, seed=4, cache=cache)
    pd.testing.assert_frame_equal(first, again)


def test_the_cheapest_point_meeting_p90(table):
    cheapest = cheapest_points(table)
    for _, row in cheapest.iterrows():
        group = table[
            (table["variant"] == row["variant"])
            & (table["procedure"] == row["procedure"])
            & (table.iloc[:, 2] == row.iloc[2])
            & table["p90_within_target"]
        ]
        assert row["total_staff"] == group["total_staff"].min()
    synthetic = table.assign(p90_within_target=table["agencies.review.staff"] >= 2)
    picked = cheapest_points(synthetic)
    assert set(picked["agencies.review.staff"]) == {2}
    assert len(picked) == 2 * 2  # each variant at each arrival rate


def test_a_bad_value_names_the_point_and_the_field(scenario):
    with pytest.raises(sim.InputError, match=r"agencies.review.staff=-1.*agencies\[1\]\.staff"):
        sim.sweep(scenario, ["agencies.review.staff=-1,2"], replications=1)


@pytest.mark.slow  # a run of the demo, or a second run and a report: -m slow
def test_the_command_writes_the_table_and_a_report(scenario, tmp_path):
    out = tmp_path / "sweep"
    done = RUNNER.invoke(
        app,
        ["sweep", str(scenario), "--set", SETTINGS[0], "--set", SETTINGS[1], "-r", "2",
         "-q", "--executor", "serial", "-o", str(out)],
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    names = {p.name for p in out.iterdir()} - {".approvalsim.lock"}
    assert names == {"sweep.csv", "sweep.html", "sweep.md", "manifest.json"}
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["points"] == 6 and len(manifest["settings"]) == 2
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert 'class="heat"' in page and 'data-chart="sweep"' in page
    bad = RUNNER.invoke(app, ["sweep", str(scenario), "--set", "agencies.nobody.staff=1", "-q",
                              "-o", str(tmp_path / "bad")])  # fmt: skip
    assert bad.exit_code == 2
    assert "no 'agencies.nobody'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_sweep_on_dask_gives_the_same_table(scenario, table):
    pytest.importorskip("distributed")
    on_dask = sim.sweep(
        scenario, SETTINGS, replications=2, seed=4, variants=["faster_review"],
        executor="dask", workers=2,
    )  # fmt: skip
    pd.testing.assert_frame_equal(on_dask, table)
