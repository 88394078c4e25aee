"""The HTML and Markdown report: the one-page summary, every procedure's section and chart
data, escaped user text, languages, the embedded CJK font, and the demo's report (slow)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import warnings

import pytest

import sim
from sim import load_scenario
from sim.analysis.contributions import reform_contributions
from sim.domain.model import Horizon
from sim.inputs.loader import PROJECT_ROOT
from sim.output.fonts import cjk_font_file
from sim.output.report import (
    FontWarning,
    build_context,
    render_html,
    render_markdown,
    write_report,
)
from sim.output.rundata import saved_run
from tests.factories import BILINGUAL_PACKAGE, four_step_scenario

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def _chart_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
    assert found, "the page carries its charts' data"
    return json.loads(found.group(1))


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


def test_the_summary_comes_first_with_every_procedure_and_variant(small_run, report):
    result, _ = small_run
    html, markdown = report
    summary = html[html.index('<section id="summary"') : html.index('<section id="details"')]
    procedures = list(dict.fromkeys(result.summary["procedure"]))
    assert summary.count('<tbody class="procedure-row">') == len(procedures)
    assert summary.count('<tr class="sentence">') == len(procedures)
    header = summary[summary.index("<thead>") : summary.index("</thead>")]
    assert len(re.findall(r"<th[ >]", header)) == 2 + len(result.variants)
    # Share within target with its interval in every cell, and the one sentence.
    assert re.search(r"\d+% \[\d+–\d+%\]", summary)
    assert re.search(r"从 \d+% \[\d+–\d+%\] 变为 \d+% \[\d+–\d+%\]", summary)
    assert markdown.index("一页摘要") < markdown.index("六减指标")


def test_details_are_collapsed_sections_with_their_charts(small_run, report):
    result, _ = small_run
    html, markdown = report
    procedures = list(dict.fromkeys(result.summary["procedure"]))
    details = re.findall(r'<details class="procedure" id="([^"]+)"', html)
    assert details == [f"p-{p}" for p in procedures] + ["agencies"]
    assert "<details open" not in html  # one procedure at a time: all start closed
    for chart in ("cycle", "share", "alone", "waterfall", "gantt", "tail"):
        assert f'data-chart="{chart}"' in html, chart
    for heading in ("cycle-times", "measures", "contributions", "gantt", "tail"):
        assert f'<h3 class="{heading}">' in html
    data = _chart_data(html)
    variants = len(result.variants)
    for procedure in procedures:
        chart = data["procedures"][procedure]
        assert len(chart["cycle"]) == len(chart["share"]) == variants
        for box in chart["cycle"]:
            assert box is None or box["q"] == sorted(box["q"])  # quantiles in order
        for value, low, high in (v for v in chart["share"] if v):
            assert 0 <= low <= value <= high <= 100
        assert set(chart["gantt"]) <= set(result.variants) and chart["gantt"]
        assert chart["contributions"]["alone"] and chart["contributions"]["steps"]
    assert data["agencies"]["agencies"] and data["agencies"]["utilisation"]
    assert "| 指标 |" in markdown and "部门负荷" in markdown and "time_limit#1" in markdown


def test_the_page_is_self_contained(report):
    html, _ = report
    assert not EXTERNAL.search(html)
    assert "<link" not in html and "@import" not in html and "url(http" not in html
    # Two scripts: the charts' data (JSON) and the code drawing them.
    assert html.count("<script") == 2
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_user_text_is_escaped(small_run, report):
    result, contributions = small_run
    html, markdown = report
    context = build_context(saved_run(result, contributions), lang="en")
    for text in (html, markdown, render_html(context, font=False), render_markdown(context)):
        assert "<script>alert" not in text
        assert "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;" in markdown and "&lt;script&gt;" in html
    # In the charts' data, < is written as \u003c: no </script> can end the element early.
    data = html[html.index('id="chart-data">') : html.index("</script>", html.index("chart-data"))]
    assert "<" not in data.split(">", 1)[1]


def test_lang_en_uses_english_names(small_run):
    result, _ = small_run
    context = build_context(saved_run(result), lang="en")
    markdown = render_markdown(context)
    assert "Intake" in markdown and "Desk" in markdown
    assert "brings the share of Test procedure" in markdown
    assert "受理" not in markdown


@pytest.mark.skipif(cjk_font_file() is None, reason="no CJK font installed to embed")
def test_the_page_embeds_every_chinese_character_it_shows(report):
    from fontTools.ttLib import TTFont

    html, _ = report
    found = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", html)
    assert found, "a CJK font subset is embedded"
    font = TTFont(io.BytesIO(base64.b64decode(found.group(1))))
    covered = set(font.getBestCmap())
    shown = {ord(c) for c in CJK.findall(html)}
    assert shown and shown <= covered
    # A subset: the page's characters, not the font's tens of thousands.
    assert len(covered) < 3 * len(shown) + 200


def test_without_a_cjk_font_the_report_says_so_once(small_run, tmp_path, monkeypatch):
    import sim.output.report as report_module

    monkeypatch.setattr(report_module, "embedded_font_css", lambda text: ("", "受理"))
    result, _ = small_run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(result, tmp_path, lang="zh")
    fonts = [w for w in caught if issubclass(w.category, FontWarning)]
    assert len(fonts) == 1 and "fonts-wqy-microhei" in str(fonts[0].message)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "@font-face" not in html and "受理" in html


# --------------------------------------------------------------------------- the demo
# The demo has ten procedures, 22 agencies and four variants: its report with the reform
# contributions is a slow test (``pytest -m slow``).


def _skip_unless_slow(config) -> None:
    if "slow" not in (config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")


@pytest.fixture(scope="module")
def demo(request, tmp_path_factory):
    _skip_unless_slow(request.config)
    path = PROJECT_ROOT / "scenarios" / "demo.yaml"
    scenario = load_scenario(path)
    horizon = Horizon(arrival_days=15, drain_days=scenario.horizon.drain_days)
    scenario = dataclasses.replace(scenario, horizon=horizon)
    result = sim.run(scenario, replications=2, executor="process", workers=2)
    contributions = reform_contributions(scenario, replications=2, executor="process", workers=2)
    folder = tmp_path_factory.mktemp("demo")
    write_report(result, folder, contributions=contributions)
    return result, folder


@pytest.mark.slow
def test_demo_report_has_every_section_and_stays_small(demo):
    result, folder = demo
    html = (folder / "report.html").read_text(encoding="utf-8")
    sections = html.split('<details class="procedure" id="p-')[1:]
    assert len(sections) == len(result.scenario.demands)
    for section in sections:
        for chart in ("cycle", "share", "alone", "waterfall", "gantt", "tail"):
            assert f'data-chart="{chart}"' in section, chart
    # The package keeps company setup far over its 1.5 working days: the section says
    # why, naming steps with their sources, in the report's language.
    company = next(s for s in sections if s.startswith('company_setup"'))
    gap = company[company.index('<div class="gap">') :]
    assert "未达目标的原因" in gap and gap.count("<li>") >= 1 and "依据：" in gap
    assert not EXTERNAL.search(html)
    # The size target of the issue (2 MB for the demo) with room: benchmarks/ measures it.
    assert (folder / "report.html").stat().st_size < 2_000_000
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert markdown.count("\n## ") == len(result.scenario.demands) + 2


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
    zh = render_markdown(build_context(saved_run(result), lang="zh"))
    en = render_markdown(build_context(saved_run(result), lang="en"))
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
    context = build_context(saved_run(result), lang="en")
    markdown = render_markdown(context)
    assert "Fixed times: one path a procedure" in markdown
    assert "Agency load" not in markdown and "confidence intervals;" not in markdown
    html = render_html(context, font=False)
    assert 'id="agencies"' not in html
