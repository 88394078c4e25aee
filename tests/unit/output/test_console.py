"""What the command line prints: a fixed-time critical path in both languages and methods."""

import datetime

from rich.console import Console

import sim
from sim import load_procedure
from sim.domain.calendar import WorkingCalendar
from sim.engines.deterministic import schedule as critical_path
from sim.output.console import format_schedule as format_critical_path
from sim.output.console import print_result
from tests.factories import BILINGUAL_PACKAGE, PROCEDURE_HEAD, four_step_scenario, write_procedure
from tests.factories import step_line as step

MONDAY = datetime.date(2025, 3, 3)
CALENDAR = WorkingCalendar.build(MONDAY, datetime.date(2025, 6, 30))


def procedure(tmp_path, steps: str):
    return load_procedure(write_procedure(tmp_path, PROCEDURE_HEAD + steps))


def test_formatted_path_in_both_languages(tmp_path):
    proc = procedure(tmp_path, step("a", 1) + step("b", 2, ["a"]))
    zh = format_critical_path(critical_path(proc), "zh")
    en = format_critical_path(critical_path(proc), "en")
    assert "测试事项" in zh and "步b" in zh and "3 个工作日" in zh and "承诺时限" in zh
    assert "Test procedure" in en and "Step b" in en and "Total: 3 working days" in en
    assert "committed times" in en and "Rules" not in en  # cn: no rule to state


def test_formatted_doing_business_path_in_calendar_days(tmp_path):
    # a (1) from Monday, b (3) from Tuesday through Thursday, c (0.2, no procedure).
    proc = procedure(
        tmp_path,
        step("a", 1) + step("b", 3, ["a"]) + step("c", 0.2, ["b"], ", not_a_procedure: true"),
    )
    result = critical_path(proc, CALENDAR, MONDAY, method="db")
    en = format_critical_path(result, "en")
    zh = format_critical_path(result, "zh")
    assert "Doing Business method (calendar days)" in en
    assert "Total: 4 calendar days (4 working days) (2025-03-03 to 2025-03-06)" in en
    assert "consecutive days" in en and "steps that are no procedure (c) take no time" in en
    assert "合计：4 个自然日（4 个工作日）" in zh


def test_the_printed_result_follows_the_language_and_a_fixed_run_has_no_interval(tmp_path):
    scenario = sim.load_scenario(four_step_scenario(tmp_path, BILINGUAL_PACKAGE, days=5))
    for engine, lang, words, absent in (
        ("des", "en", ["The package", "Target 6 working days", "95% intervals"], "改革包"),
        ("deterministic", "zh", ["改革包", "目标 6 个工作日", "[fixed times"], "Busiest"),
    ):
        result = sim.run(scenario, engine=engine, executor="serial", replications=1)
        console = Console(record=True, width=200)
        print_result(console, result, lang)
        printed = console.export_text()
        for word in words:
            assert word in printed, (engine, word, printed)
        assert absent not in printed
