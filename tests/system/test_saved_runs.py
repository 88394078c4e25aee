"""A run's results folder, end to end: what it keeps, the report rebuilt from it, two runs
compared, sweeps, clean, and the smaller things a planner meets on the way."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from tests.factories import intake_review_scenario

RUNNER = CliRunner()


def invoke(*arguments: str):
    result = RUNNER.invoke(app, [str(a) for a in arguments])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return intake_review_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def run_folder(scenario, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "one"
    done = invoke("run", scenario, "-r", "3", "-q", "--executor", "serial", "-o", folder)
    assert done.exit_code == 0, done.stderr
    return folder


def test_a_run_keeps_what_a_planner_needs_and_no_cache(run_folder):
    names = {p.name for p in run_folder.iterdir()}
    assert names == {
        ".approvalsim.lock",
        "manifest.json",
        "cases.csv",
        "summary.csv",
        "comparison.csv",
        "agencies.csv",
        "results.xlsx",
        "scenario.json",
        "report_data.json",
        "report.html",
        "report.md",
    }
    cases = pd.read_csv(run_folder / "cases.csv")
    assert set(cases["replication"]) == {0}
    manifest = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == names - {".approvalsim.lock", "manifest.json"}
    assert manifest["keep"] == [] and manifest["format"] == "csv" and manifest["lang"] == "zh"


def test_keep_cache_reruns_at_once_and_clean_removes_it(scenario, tmp_path):
    folder = tmp_path / "kept"
    base = ["run", scenario, "-r", "2", "-q", "--executor", "serial", "--no-report", "-o", folder]
    first = invoke(*base, "--keep", "cache,cases")
    assert first.exit_code == 0, first.stderr
    kept = list(folder.glob("runs/*/replication_*.npz"))
    assert len(kept) == 2
    assert set(pd.read_csv(folder / "cases.csv")["replication"]) == {0, 1}
    again = invoke(*base)
    assert "(2 reused from an earlier run)" in again.stdout
    assert not (folder / "runs").exists()  # the finished run's cache is pruned
    invoke(*base, "--keep", "cache")
    assert (folder / "runs").is_dir()
    cleaned = invoke("clean", folder)
    assert cleaned.exit_code == 0 and "Freed" in cleaned.stdout
    assert not (folder / "runs").exists()
    assert (folder / "summary.csv").is_file()  # clean leaves the results alone


def test_keep_takes_known_words_only(scenario, tmp_path):
    done = invoke("run", scenario, "-q", "--keep", "steps,cach", "-o", tmp_path / "x")
    assert done.exit_code == 2
    assert "--keep takes" in done.stderr and "'cach'" in done.stderr


def test_report_rebuilds_the_same_page_from_the_saved_run(run_folder, tmp_path):
    before = (run_folder / "report.html").read_bytes()
    markdown = (run_folder / "report.md").read_bytes()
    done = invoke("report", run_folder)
    assert done.exit_code == 0, done.stderr
    assert (run_folder / "report.html").read_bytes() == before
    assert (run_folder / "report.md").read_bytes() == markdown
    manifest = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    assert "cases.csv" in manifest["files"] and "report.html" in manifest["files"]
    english = invoke("report", run_folder, "--lang", "en", "-o", tmp_path / "en")
    assert english.exit_code == 0, english.stderr
    page = (tmp_path / "en" / "report.html").read_text(encoding="utf-8")
    assert 'lang="en"' in page and "Summary" in page


def test_report_of_a_folder_without_a_run_is_one_line(tmp_path):
    done = invoke("report", tmp_path)
    assert done.exit_code == 2
    assert "no complete run here" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # a run of the demo, or a second run and a report: -m slow
def test_compare_shows_what_changed(scenario, run_folder, tmp_path):
    changed = scenario.with_name("more_staff.yaml")
    changed.write_text(
        scenario.read_text(encoding="utf-8").replace("staff: 2", "staff: 3", 1), encoding="utf-8"
    )
    other = tmp_path / "two"
    done = invoke("run", changed, "-r", "3", "-q", "--executor", "serial", "-o", other)
    assert done.exit_code == 0, done.stderr
    compared = invoke("compare", run_folder, other, "-o", tmp_path / "cmp")
    assert compared.exit_code == 0, compared.stderr
    assert re.search(r"models\.baseline\.agencies\.\w+\.staff: 2 -> 3", compared.stdout)
    assert "Share within target, A -> B" in compared.stdout
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert set(table["figure"]) == {"share_within_target", "mean_days", "p90_days"}
    assert (table["change_low"] <= table["change"]).all()
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "staff" in page and 'data-chart="share"' in page
    same = invoke("compare", run_folder, run_folder)
    assert "Scenario differences: 0" in same.stdout


def test_results_xlsx_has_headers_in_the_language_asked(run_folder, tmp_path):
    from openpyxl import load_workbook

    book = load_workbook(run_folder / "results.xlsx")
    assert book.sheetnames == ["摘要", "六减指标", "配对比较", "部门负荷"]
    summary = book["摘要"]
    header = [cell.value for cell in summary[1]]
    assert header[:4] == ["方案", "方案名称", "事项", "事项名称"]
    assert "目标内办结比例" in header
    share = summary.cell(row=2, column=header.index("目标内办结比例") + 1)
    assert isinstance(share.value, float) and share.number_format == "0.0%"
    english = tmp_path / "en"
    from sim.output.rundata import read_run
    from sim.output.workbook import write_workbook

    write_workbook(read_run(run_folder), english.with_suffix(".xlsx"), "en")
    book = load_workbook(english.with_suffix(".xlsx"))
    assert book.sheetnames == ["summary", "six measures", "comparison", "agencies"]
    assert "share within target" in [cell.value for cell in book["summary"][1]]


def test_workbook_cells_are_never_formulas(run_folder, tmp_path):
    import dataclasses

    from openpyxl import load_workbook

    from sim.output.rundata import read_run
    from sim.output.workbook import write_workbook

    saved = read_run(run_folder)
    summary = saved.summary.assign(interval_basis="=1+1")
    path = write_workbook(dataclasses.replace(saved, summary=summary), tmp_path / "r.xlsx", "en")
    sheet = load_workbook(path)["summary"]
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("interval basis") + 1)
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_scheduler_without_dask_is_refused(scenario, tmp_path):
    done = invoke(
        "run", scenario, "-q", "--executor", "process", "--scheduler", "tcp://127.0.0.1:9",
        "-o", tmp_path / "x",
    )  # fmt: skip
    assert done.exit_code == 2
    assert "--scheduler runs on a Dask cluster" in done.stderr


def test_help_shows_no_bool_placeholders():
    for command in ("run", "sweep", "report", "compare", "clean"):
        done = invoke(command, "--help")
        assert done.exit_code == 0
        assert "<bool>" not in done.stdout, command


def test_a_large_event_log_is_announced_before_the_run(scenario, tmp_path, monkeypatch):
    import sim.cli

    monkeypatch.setattr(sim.cli, "LARGE_EVENTLOG", 1)
    done = invoke(
        "run", scenario, "-q", "-r", "1", "--executor", "serial", "--no-report",
        "--eventlog", "xes", "-o", tmp_path / "x",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert re.search(r"warning: eventlog\.xes will be about [\d.]+ GB", done.stderr)


def test_narrow_terminal_keeps_variant_names_whole(scenario):
    from rich.console import Console

    import sim
    from sim.output.console import print_result

    result = sim.run(scenario, replications=2)
    console = Console(width=80, record=True)
    print_result(console, result)
    text = console.export_text()
    assert "faster_review" in text.replace("\n", "").replace("│", "").replace(" ", "")
    assert "faster_re…" not in text and "basel…" not in text


def test_run_result_has_a_short_repr_and_a_notebook_view(scenario):
    import sim

    result = sim.run(scenario, replications=2, cache=False)
    assert len(repr(result)) < 300 and "replication" in repr(result)
    html = result._repr_html_()
    assert "<table" in html and len(html) < 20_000
    with pytest.raises(sim.InputError, match="cache takes a folder"):
        sim.run(scenario, replications=1, cache=True)


@pytest.mark.parametrize(
    ("options", "made"),
    [
        (("--no-report",), "none"),
        ((), "first"),
        (("--no-report", "--keep", "steps"), "first"),
        (("--no-report", "--eventlog", "csv"), "first"),
        (("--no-report", "--steps", "all"), "all"),
    ],
)
def test_step_rows_are_made_only_when_something_reads_them(
    scenario, tmp_path, monkeypatch, options, made
):
    """A run without report, event log or step table makes no step rows (several a case:
    most of a large run's memory); the agency table is the same either way."""
    import sim.cli as cli

    asked = []
    real = cli.run_experiment

    def spy(*arguments, **keywords):
        asked.append(keywords["steps"])
        return real(*arguments, **keywords)

    monkeypatch.setattr(cli, "run_experiment", spy)
    folder = tmp_path / "out"
    done = invoke("run", scenario, "-r", "1", "-q", "--executor", "serial", "-o", folder, *options)
    assert done.exit_code == 0, done.stderr
    assert asked == [made]
    assert (folder / "steps.csv").exists() == ("steps" in options or "all" in options)
    if made == "none":
        with_rows = tmp_path / "with_rows"
        invoke("run", scenario, "-r", "1", "-q", "--executor", "serial", "-o", with_rows,
               "--no-report", "--keep", "steps")  # fmt: skip
        agencies = (folder / "agencies.csv").read_bytes()
        assert agencies == (with_rows / "agencies.csv").read_bytes()
