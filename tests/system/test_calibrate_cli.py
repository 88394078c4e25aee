"""`approvalsim calibrate` end to end: a real public log, Chinese exports, a given procedure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.inputs.yaml import read_yaml

DATA = Path(__file__).parents[1] / "data"
ROAD = DATA / "roadtraffic100traces.xes"


def invoke(args, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def road(tmp_path_factory):
    """The road-traffic log calibrated once through the command line (English report)."""
    folder = tmp_path_factory.mktemp("road")
    out = folder / "out"
    result = CliRunner().invoke(
        app,
        ["calibrate", str(ROAD), "--calendar", "IT", "--out", str(out), "--lang", "en", "-r", "5"],
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    return out, result.stdout


def test_road_traffic_log_gives_files_that_run(road, tmp_path, monkeypatch):
    out, stdout = road
    names = sorted(p.name for p in out.iterdir() if p.name != ".approvalsim.lock")
    assert names == sorted(
        [
            "manifest.json",
            "roadtraffic100traces.yaml",
            "calibrated_roadtraffic100traces.yaml",
            "fit_summary.csv",
            "fit_steps.csv",
            "fit_arrivals.csv",
            "fitted_numbers.csv",
            "fit_report.html",
            "fit_report.md",
        ]
    )
    assert "Cycle time, working days" in stdout and "W1" in stdout
    scenario = read_yaml(out / "calibrated_roadtraffic100traces.yaml")
    assert scenario["calendar"]["country"] == "IT"
    procedure = read_yaml(out / "roadtraffic100traces.yaml")
    ids = [step["id"] for step in procedure["steps"]]
    assert ids[0] == "create_fine" and "send_fine" in ids and "payment" in ids
    # Every fitted number says where it came from.
    for step in procedure["steps"]:
        assert step["source"].startswith("fitted from roadtraffic100traces.xes, ")
    for agency in scenario["agencies"]:
        assert agency["source"]
    assert scenario["procedures"][0]["source"].startswith("fitted from")
    # The fitted scenario is a scenario like any other.
    result = invoke(
        [
            "run",
            str(out / "calibrated_roadtraffic100traces.yaml"),
            "-o",
            str(tmp_path / "run"),
            "-q",
            "--executor",
            "serial",
            "-r",
            "2",
            "--no-report",
        ],
        tmp_path,
        monkeypatch,
    )
    assert result.exit_code == 0, result.stderr


def test_fit_report_has_the_figures_and_the_comparison(road):
    out, _ = road
    html = (out / "fit_report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    markdown = (out / "fit_report.md").read_text(encoding="utf-8")
    for words in (
        "W1 distance",
        "KS statistic",
        "naive predictor",
        "90th percentile",
        "share within target",
    ):
        assert words in markdown
    summary = pd.read_csv(out / "fit_summary.csv")
    working = summary[summary["unit"] == "working_days"].set_index("measure")
    assert {"mean", "median", "p90", "share_within_target", "w1", "ks"} <= set(working.index)
    # 30 held-back cases, all closed, against 10 replications.
    assert (
        working.loc["mean", "records_low"]
        < working.loc["mean", "records"]
        < working.loc["mean", "records_high"]
    )
    assert working.loc["w1", "simulated"] > 0 and working.loc["w1", "naive"] > 0
    steps = pd.read_csv(out / "fit_steps.csv")
    assert "payment" in set(steps["step"]) and steps["records_cases"].sum() > 0


GBK_RECORDS = "办件编号,事项名称,环节名称,开始时间,结束时间,办理人,部门\n" + "".join(
    f"A{i:03d},企业开办,受理,2025-03-{3 + i % 20:02d} 09:00,2025-03-{3 + i % 20:02d} 09:{10 + i % 40:02d},张三,市场监管局\n"
    f"A{i:03d},企业开办,审核,2025-03-{3 + i % 20:02d} 10:00,2025-03-{4 + i % 20:02d} 1{i % 8}:00,李四,市场监管局\n"
    for i in range(60)
)


def test_chinese_gbk_export_with_start_and_end_times(tmp_path, monkeypatch):
    (tmp_path / "办件.csv").write_bytes(GBK_RECORDS.encode("gbk"))
    result = invoke(["calibrate", "办件.csv", "--out", "out", "-r", "3"], tmp_path, monkeypatch)
    assert result.exit_code == 0, result.stderr
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert "procedure_1.yaml" in files  # a Chinese name gives a neutral id
    procedure = read_yaml(tmp_path / "out" / "procedure_1.yaml")
    assert procedure["name"]["zh"] == "企业开办"
    assert [s["name"]["zh"] for s in procedure["steps"]] == ["受理", "审核"]
    scenario = read_yaml(tmp_path / "out" / next(f for f in files if f.startswith("calibrated_")))
    (agency,) = scenario["agencies"]
    assert agency["name"]["zh"] == "市场监管局" and isinstance(agency["staff"], int)
    assert "办理时间" in (tmp_path / "out" / "fit_report.md").read_text(encoding="utf-8")


PROCEDURE = """
id: setup
name: {zh: 企业开办, en: Company setup}
target: {working_days: 3, source: "test target"}
steps:
  - id: intake
    name: {zh: 窗口受理, en: Intake}
    agency: market_regulator
    handling: 0.1
    materials: [{id: form, name: 申请书, kind: main, probability_defective: 0.1}]
    send_back: {response: 1, max_resubmissions: 2}
    source: "assumption: test"
  - {id: review, name: {zh: 审核, en: Review}, agency: market_regulator, after: [intake], handling: 0.5, source: "assumption: test"}
  - {id: archive, name: {zh: 归档, en: Archive}, agency: archives, after: [review], handling: 0.2, source: "assumption: test"}
"""


def test_given_procedure_keeps_its_structure_and_refits_numbers(tmp_path, monkeypatch):
    (tmp_path / "records.csv").write_bytes(GBK_RECORDS.encode("gbk"))
    (tmp_path / "setup.yaml").write_text(PROCEDURE, encoding="utf-8")
    (tmp_path / "map.yaml").write_text("受理: intake\n", encoding="utf-8")
    result = sim.calibrate(
        tmp_path / "records.csv",
        procedure=tmp_path / "setup.yaml",
        mapping=tmp_path / "map.yaml",
        out=tmp_path / "out",
        replications=2,
        lang="en",
    )
    refitted = read_yaml(tmp_path / "out" / "setup.yaml")
    steps = {s["id"]: s for s in refitted["steps"]}
    assert steps["review"]["after"] == ["intake"]  # structure as written
    assert steps["intake"]["source"].startswith("fitted from records.csv")
    assert steps["archive"]["source"] == "assumption: test"  # not in the records: kept
    assert steps["intake"]["materials"][0]["probability_defective"] == 0.0  # no repeats seen
    assert any("do not have" in note for note in result.calibration.notes)
    assert isinstance(result.summary, pd.DataFrame) and not result.summary.empty
    assert set(result.fitted["quantity"]) >= {
        "handling",
        "send_back_share",
        "arrivals_per_day",
        "staff",
    }
    assert result.scenario.procedure_index["setup"].step("review").after == ("intake",)


def test_stated_staff_replaces_the_fitted(tmp_path):
    (tmp_path / "records.csv").write_bytes(GBK_RECORDS.encode("gbk"))
    result = sim.calibrate(tmp_path / "records.csv", staff="市场监管局=5", report=False)
    (agency,) = result.calibration.scenario_data["agencies"]
    assert agency["staff"] == 5 and "stated" in agency["source"]
    with pytest.raises(sim.InputError, match="records do not have"):
        sim.calibrate(tmp_path / "records.csv", staff="税务局=5", report=False)


def test_since_until_and_test_share_pick_the_cases(tmp_path):
    result = sim.calibrate(
        ROAD, calendar="IT", since="2003-01-01", until="2011-12-31", test_share=0.25, report=False
    )
    cases = result.calibration.cases
    first = result.calibration.calendar.clock_of(pd.Timestamp("2003-01-01").date())
    assert (cases["first"] >= first).all()
    assert cases["test"].sum() == round(0.25 * len(cases))
    assert cases.loc[cases["test"], "first"].min() >= cases.loc[~cases["test"], "first"].max()
    assert result.files == ()


def test_bad_options_are_one_line_errors(tmp_path, monkeypatch):
    for args, words in (
        (["calibrate", str(ROAD), "--calendar", "XX"], "unknown country"),
        (["calibrate", str(ROAD), "--calendar", "IT", "--since", "2005-13-01"], "YYYY-MM-DD"),
        (["calibrate", str(ROAD), "--calendar", "IT", "--test-share", "1.5"], "between 0 and 1"),
        (["calibrate", str(ROAD), "--calendar", "IT", "--columns", "cases=x"], "unknown role"),
        (["calibrate", "nowhere.csv"], "no such file"),
    ):
        result = invoke(
            [*args, "--out", str(tmp_path / "out"), "--no-report"], tmp_path, monkeypatch
        )
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, (
            result.stderr
        )
        assert not (tmp_path / "out").exists()
