"""The HTML and Markdown report, its figures, the median case and reform contributions."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim import load_scenario
from sim.analysis import casepath
from sim.analysis.contributions import contribution_variants, reform_contributions
from sim.domain.model import Horizon
from sim.inputs.loader import PROJECT_ROOT
from sim.output.report import build_context, render_html, render_markdown, write_report
from tests.conftest import scenario_text, write_case

# Names carry markup on purpose: the report must show it as text.
PROCEDURE = """
id: proc
name: {zh: "测试事项<script>alert('p')</script>", en: "Test procedure <script>alert('p')</script>"}
target: {working_days: 6, source: "test"}
attributes:
  - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
steps:
  - id: intake
    name: {zh: 受理, en: Intake}
    agency: desk
    handling: {type: exponential, mean: 0.3}
    materials: [{id: form, name: 表, kind: main, probability_defective: 0.25}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 2}
    trips: 1
    source: "test"
  - id: review
    name: {zh: "审查<b>", en: "Review <b>"}
    agency: review
    handling: {type: lognormal, median: 0.6, p90: 1.5}
    waiting: {type: uniform, min: 1, max: 3}
    after: [intake]
    fees_cny: 100
    source: "test"
  - id: survey
    name: {zh: 勘察, en: Survey}
    agency: review
    handling: {type: lognormal, median: 0.4, p90: 1.0}
    waiting: {type: uniform, min: 0.5, max: 2}
    waiting_on_clock: true
    after: [intake]
    when: "size == 'large'"
    source: "test"
  - id: permit
    name: {zh: 发证, en: Permit}
    agency: desk
    handling: 0.2
    after: [review, survey]
    trips: 1
    source: "test"
"""

AGENCIES = """
agencies:
  - {id: desk, name: {zh: 窗口, en: Desk}, staff: 2, source: "test"}
  - id: review
    name: {zh: "审查科<img src=x onerror=alert(1)>", en: "Review office <img src=x>"}
    staff: 2
    source: "test"
"""

VARIANTS = """
title: "<script>alert('title')</script> 报告测试"
variants:
  - name: package
    title: "Package B <script>alert('v')</script>"
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.5, source: "test"}
      - {type: online, procedure: proc, steps: all, source: "test"}
      - {type: add_staff, agency: review, add: 1, source: "test"}
"""

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _scenario_file(folder: Path) -> Path:
    text = scenario_text(agencies=AGENCIES, rate=2.0, days=20, drain=40, extra="")
    text = text.replace("title: test scenario\n", "") + VARIANTS
    return write_case(folder, PROCEDURE, text)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    scenario = load_scenario(_scenario_file(folder))
    result = sim.run(scenario, replications=2, seed=11)
    contributions = reform_contributions(scenario, replications=2, seed=11)
    return result, contributions


@pytest.fixture
def no_cjk_font(monkeypatch):
    from sim.output import figures as plots

    monkeypatch.setattr(plots, "find_cjk_font", lambda: None)
    plots.reset_font_warning()
    yield
    monkeypatch.undo()
    plots.reset_font_warning()


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


@pytest.fixture(scope="module")
def report(run, tmp_path_factory):
    result, contributions = run
    folder = tmp_path_factory.mktemp("written")
    written = write_report(result, folder, lang="zh", contributions=contributions)
    assert [p.name for p in written] == ["report.html", "report.md"]
    return (
        (folder / "report.html").read_text(encoding="utf-8"),
        (folder / "report.md").read_text(encoding="utf-8"),
    )


def test_figures_drawn_side_by_side_give_the_same_report(run, report, tmp_path):
    result, contributions = run
    serial, forked = tmp_path / "serial", tmp_path / "forked"
    seen = {"serial": [], "forked": []}
    for name, folder, workers in (("serial", serial, 1), ("forked", forked, 2)):
        write_report(
            result,
            folder,
            lang="zh",
            contributions=contributions,
            workers=workers,
            progress=lambda done, total, name=name: seen[name].append((done, total)),
        )
    html = (serial / "report.html").read_text(encoding="utf-8")
    figures = len(_svgs(html))
    assert figures >= 8  # enough figures to be drawn by two workers
    expected = [(done, figures) for done in range(figures + 1)]
    assert seen["serial"] == seen["forked"] == expected
    assert (forked / "report.html").read_text(encoding="utf-8") == html == report[0]
    assert (forked / "report.md").read_bytes() == (serial / "report.md").read_bytes()


def _baseline_only(result):
    def keep(frame):
        return frame[frame["variant"] == "baseline"].reset_index(drop=True)

    return dataclasses.replace(
        result,
        variants=("baseline",),
        cases=keep(result.cases),
        steps=keep(result.steps),
        busy=keep(result.busy),
        summary=keep(result.summary),
        comparison=result.comparison.iloc[:0],
        agencies=keep(result.agencies),
    )


def test_report_has_every_section_and_figure(run, report):
    result, _ = run
    html, markdown = report
    variants = len(result.variants)
    for name, count in {
        "fig-cycle": 1,
        "fig-share": 1,
        "fig-alone": 1,
        "fig-waterfall": 1,
        "fig-gantt": variants,
        "fig-tail": variants,
        "fig-utilisation": 1,
        "fig-queues": 1,
    }.items():
        assert html.count(f'class="{name}"') == count, name
    assert len(_svgs(html)) == 6 + 2 * variants
    for section in ("cycle-times", "measures", "contributions", "gantt", "tail"):
        assert f'<h3 class="{section}">' in html
    assert 'id="agencies"' in html and 'id="summary"' in html
    # Self-contained: no external references, no scripts, ids unique across the SVGs.
    assert not EXTERNAL.search(html)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    # The plain-language summary: share from x% [a-b%] to y% [c-d%].
    assert re.search(r"从 \d+% \[\d+–\d+%\] 变为 \d+% \[\d+–\d+%\]", html)
    # The six measures, Chinese labels and names as written in the files.
    for label in ("环节", "材料", "证明", "跑动", "时间", "费用", "受理", "窗口"):
        assert label in html
    assert markdown.startswith("# ")
    assert "| 指标 |" in markdown and "六减指标" in markdown and "部门负荷" in markdown
    assert "time_limit#1" in markdown


def test_user_text_is_escaped(run, report):
    result, contributions = run
    html, markdown = report
    context = build_context(result, lang="en", contributions=contributions, figures=False)
    for text in (html, markdown, render_html(context), render_markdown(context)):
        assert "<script" not in text.lower()
        assert "<img" not in text and "<b>" not in text
        assert "&lt;script&gt;" in text
    # Inside the SVGs, matplotlib writes the label text into escaped comments.
    assert "&lt;b&gt;" in "".join(_svgs(html))


def test_lang_en_uses_english_names(run):
    result, _ = run
    context = build_context(result, lang="en", figures=False)
    markdown = render_markdown(context)
    assert "Intake" in markdown and "Desk" in markdown
    assert "brings the share of Test procedure" in markdown
    assert "受理" not in markdown


def test_report_without_cjk_font_falls_back_to_english(run, tmp_path, no_cjk_font):
    result, _ = run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(_baseline_only(result), tmp_path, lang="zh")
    fonts = [w for w in caught if "apt-get install fonts-wqy-microhei" in str(w.message)]
    assert len(fonts) == 1
    assert not [w for w in caught if "missing from" in str(w.message)]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    figures = "".join(_svgs(html))
    assert "Intake" in figures and "受理" not in figures and "窗口" not in figures
    assert "受理" in html  # the page text keeps the language asked for


def test_plot_functions_draw_into_a_given_axes(run):
    from matplotlib.figure import Figure

    from sim.output import figures as plots

    result, contributions = run
    scenario = result.scenario
    figure = Figure()
    first, second = figure.subplots(1, 2)
    assert plots.plot_cycle_times(result.cases, "proc", scenario, ax=first, lang="en") is figure
    assert plots.plot_waterfall(contributions, "proc", scenario, ax=second) is figure
    alone = plots.plot_share_within_target(result.summary, "proc", scenario, lang="en")
    assert isinstance(alone, Figure) and alone is not figure


def test_only_the_plot_module_imports_matplotlib():
    code = (
        "import sys, sim, sim.output.report, sim.output.eventlog, sim.analysis.casepath, sim.analysis.contributions, sim.cli;"
        "bad = [m for m in ('matplotlib', 'simpy') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    importing = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in (PROJECT_ROOT / "sim").rglob("*.py")
        if re.search(r"^\s*(import|from)\s+matplotlib", path.read_text(encoding="utf-8"), re.M)
    ]
    assert importing == ["sim/output/figures.py"]


# --------------------------------------------------------------------------- critical path


def _steps(rows):
    columns = ["step", "agency", "attempt", "outcome", "ready_day", "start_day", "handled_day"]
    frame = pd.DataFrame(rows, columns=[*columns, "end_day"])
    return frame


def test_critical_path_walks_back_through_send_backs_and_joins():
    steps = _steps(
        [
            ("intake", "desk", 1, "sent_back", 0.0, 0.0, 0.5, 0.5),
            ("intake", "desk", 2, "accepted", 1.5, 1.5, 2.0, 2.0),
            ("review", "review", 1, "accepted", 2.0, 2.2, 2.5, 4.0),
            ("survey", "review", 1, "accepted", 2.0, 2.0, 2.3, 3.0),
            ("permit", "desk", 1, "accepted", 4.0, 4.0, 4.2, 4.2),
        ]
    )
    path = casepath.critical_path(steps)
    assert list(steps.loc[path, "step"]) == ["intake", "intake", "review", "permit"]
    parts = casepath.path_parts(steps, 0.0, path)
    assert sum(days for _, _, days in parts) == pytest.approx(4.2)
    kinds = {}
    for _, kind, days in parts:
        kinds[kind] = kinds.get(kind, 0.0) + days
    assert kinds == pytest.approx(
        {"handling": 0.5 + 0.5 + 0.3 + 0.2, "correction": 1.0, "queue": 0.2, "waiting": 1.5}
    )


def test_median_case_is_the_same_case_in_every_variant(run):
    result, _ = run
    chosen = casepath.median_case(result.cases, "proc", list(result.variants))
    assert set(chosen) == set(result.variants)
    assert len(set(chosen.values())) == 1


def test_tail_drivers_shares_add_up(run):
    result, _ = run
    drivers = casepath.tail_drivers(result.cases, result.steps, result.scenario, "proc", "baseline")
    assert len(drivers)
    assert drivers["tail_share"].sum() == pytest.approx(1.0)
    assert drivers["all_share"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- contributions


def test_contributions_alone_and_cumulative(run):
    result, contributions = run
    rows = contributions[contributions["procedure"] == "proc"]
    assert sorted(rows["mode"].unique()) == ["alone", "cumulative"]
    assert list(rows.loc[rows["mode"] == "cumulative", "position"]) == [1, 2, 3]
    # The last prefix is the package itself: same seed, same numbers as the main run.
    last = rows[rows["mode"] == "cumulative"].iloc[-1]
    package = result.summary.query("variant == 'package' and procedure == 'proc'").iloc[0]
    assert last["share_within_target"] == pytest.approx(package["share_within_target"])
    steps = rows.loc[rows["mode"] == "cumulative", "share_within_target_step"].sum()
    assert steps == pytest.approx(last["share_within_target_change"])


def test_a_reform_that_cannot_stand_alone_gets_a_note(tmp_path):
    extra = """
variants:
  - name: merged
    reforms:
      - {type: merge, procedure: proc, steps: [review, permit], id: joint_review,
         name: {zh: 联合审查, en: Joint review}, agency: review, handling: 0.5, source: "test"}
      - {type: time_limit, procedure: proc, steps: [joint_review], scale: 0.5, source: "test"}
"""
    text = scenario_text(agencies=AGENCIES, rate=1.0, days=5, drain=30, extra=extra)
    scenario = load_scenario(write_case(tmp_path, PROCEDURE, text))
    changed, plan = contribution_variants(scenario, "merged")
    second = [e for e in plan if e["mode"] == "alone" and e["position"] == 2][0]
    assert second["synthetic"] is None and "joint_review" in second["note"]
    assert [v.name for v in changed.variants] == ["merged__alone_1", "merged__upto_2"]


# --------------------------------------------------------------------------- the demo
# The demo has ten procedures, 22 agencies and four variants: its full report draws over
# a hundred figures, so these tests are slow ones (``pytest -m slow``). The quick tests
# above check every section and figure on a small scenario.


def _skip_unless_slow(config) -> None:
    if "slow" not in (config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")


@pytest.fixture(scope="module")
def demo(request, tmp_path_factory):
    _skip_unless_slow(request.config)
    path = PROJECT_ROOT / "scenarios" / "demo.yaml"
    if not path.is_file():
        pytest.skip("the demo scenario is not there")
    scenario = load_scenario(path)
    horizon = Horizon(arrival_days=15, drain_days=scenario.horizon.drain_days)
    scenario = dataclasses.replace(scenario, horizon=horizon)
    result = sim.run(scenario, replications=2, executor="process", workers=2)
    contributions = reform_contributions(scenario, replications=2, executor="process", workers=2)
    folder = tmp_path_factory.mktemp("demo")
    write_report(result, folder, contributions=contributions)
    return result, folder


@pytest.mark.slow
def test_demo_report_has_every_section_and_figure(demo):
    result, folder = demo
    html = (folder / "report.html").read_text(encoding="utf-8")
    procedures = html.split('<section class="procedure"')[1:]
    assert len(procedures) == len(result.scenario.demands)
    variants = len(result.variants)
    for section in procedures:
        for name in ("fig-cycle", "fig-share", "fig-alone", "fig-waterfall"):
            assert section.count(f'class="{name}"') == 1, name
        # A short run may leave a variant without a completed case of a slow procedure.
        assert 1 <= section.count('class="fig-gantt"') <= variants
        assert 1 <= section.count('class="fig-tail"') <= variants
        for heading in ("cycle-times", "measures", "contributions", "gantt", "tail"):
            assert f'<h3 class="{heading}">' in section
    assert 'class="fig-utilisation"' in html and 'class="fig-queues"' in html
    assert not EXTERNAL.search(html)
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert markdown.count("\n## ") == len(result.scenario.demands) + 2


@pytest.mark.slow
def test_chromium_renders_the_report(demo, tmp_path):
    browser = Path("/usr/bin/chromium")
    if not browser.is_file():
        pytest.skip("no /usr/bin/chromium")
    _, folder = demo
    shot = tmp_path / "report.png"
    completed = subprocess.run(
        [
            str(browser),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1200,4000",
            f"--screenshot={shot}",
            (folder / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
