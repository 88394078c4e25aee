"""The HTML and Markdown report: every section and figure, escaped user text, languages,
figures drawn side by side, and the whole demo's report (slow)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import warnings
from pathlib import Path

import pytest

import sim
from sim import load_scenario
from sim.analysis.contributions import reform_contributions
from sim.domain.model import Horizon
from sim.inputs.loader import PROJECT_ROOT
from sim.output.report import build_context, render_html, render_markdown, write_report
from tests.factories import BILINGUAL_PACKAGE, four_step_scenario

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


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
def report(small_run, tmp_path_factory):
    result, contributions = small_run
    folder = tmp_path_factory.mktemp("written")
    written = write_report(result, folder, lang="zh", contributions=contributions)
    assert [p.name for p in written] == ["report.html", "report.md"]
    return (
        (folder / "report.html").read_text(encoding="utf-8"),
        (folder / "report.md").read_text(encoding="utf-8"),
    )


def test_figures_drawn_side_by_side_give_the_same_report(small_run, report, tmp_path):
    result, contributions = small_run
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


def test_report_has_every_section_and_figure(small_run, report):
    result, _ = small_run
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


def test_user_text_is_escaped(small_run, report):
    result, contributions = small_run
    html, markdown = report
    context = build_context(result, lang="en", contributions=contributions, figures=False)
    for text in (html, markdown, render_html(context), render_markdown(context)):
        assert "<script" not in text.lower()
        assert "<img" not in text and "<b>" not in text
        assert "&lt;script&gt;" in text
    # Inside the SVGs, matplotlib writes the label text into escaped comments.
    assert "&lt;b&gt;" in "".join(_svgs(html))


def test_lang_en_uses_english_names(small_run):
    result, _ = small_run
    context = build_context(result, lang="en", figures=False)
    markdown = render_markdown(context)
    assert "Intake" in markdown and "Desk" in markdown
    assert "brings the share of Test procedure" in markdown
    assert "受理" not in markdown


def test_report_without_cjk_font_falls_back_to_english(small_run, tmp_path, no_cjk_font):
    result, _ = small_run
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
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "![tracker](http://example.com/pixel.png)",
        "<img src=x onerror=alert(1)>",
        "see https://example.com or www.example.com or a@example.com",
        "`code` and *bold* and [ref][1]",
        "a | b",
    ],
)
def test_markdown_shows_user_text_as_text(text):
    from sim.output.report import _md_escape

    shown = _md_escape(text)
    assert "](" not in shown.replace("\\](", "")
    assert "<" not in shown and "://" not in shown and "www." not in shown
    assert "@" not in shown and "|" not in shown.replace("\\|", "")
    assert "`" not in shown.replace("\\`", "")


def test_variant_titles_follow_the_language(tmp_path):
    scenario = load_scenario(four_step_scenario(tmp_path, BILINGUAL_PACKAGE, days=5))
    result = sim.run(scenario, replications=1, seed=3, executor="serial")
    zh = render_markdown(build_context(result, lang="zh", figures=False))
    en = render_markdown(build_context(result, lang="en", figures=False))
    assert "改革包" in zh and "The package" not in zh
    assert "The package" in en and "改革包" not in en
    # Time in both units.
    assert "Time (mean working days)" in en and "Time (mean calendar days)" in en
    assert "时间（平均自然日）" in zh


def test_a_fixed_time_report_has_no_intervals_and_no_utilisation(tmp_path):
    scenario = load_scenario(four_step_scenario(tmp_path, BILINGUAL_PACKAGE, days=5))
    result = sim.run(scenario, engine="deterministic", executor="serial")
    assert result.summary.interval_basis.eq("fixed times: one path, no interval").all()
    assert result.summary.filter(regex="_(low|high)$").isna().all().all()
    assert result.agencies.utilisation.isna().all() and not result.agencies.overloaded.any()
    assert result.comparison.difference_low.isna().all()
    markdown = render_markdown(build_context(result, lang="en", figures=False))
    assert "Fixed times: one path a procedure" in markdown
    assert "Agency load" not in markdown and "confidence intervals;" not in markdown
    html = render_html(build_context(result, lang="en", figures=False))
    assert 'id="agencies"' not in html
