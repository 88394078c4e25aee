"""What the command line prints: the Doing Business critical path in both languages."""

from sim import load_procedure
from sim.engines.deterministic import schedule as critical_path
from sim.output.console import format_schedule as format_critical_path
from tests.factories import PROCEDURE_HEAD, write_procedure
from tests.factories import step_line as step


def procedure(tmp_path, steps: str):
    return load_procedure(write_procedure(tmp_path, PROCEDURE_HEAD + steps))


def test_formatted_path_in_both_languages(tmp_path):
    proc = procedure(tmp_path, step("a", 1) + step("b", 2, ["a"]))
    zh = format_critical_path(critical_path(proc), "zh")
    en = format_critical_path(critical_path(proc), "en")
    assert "测试事项" in zh and "步b" in zh and "3 个工作日" in zh
    assert "Test procedure" in en and "Step b" in en and "Total: 3 working days" in en
    assert "consecutive days" in en
