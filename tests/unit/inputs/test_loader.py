"""Loading a procedure and a scenario: every mistake is one `InputError` naming file, line and field."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from tests.factories import TWO_STEPS as GOOD
from tests.factories import agencies, scenario_text, write_case

# (name, text replaced in GOOD, replacement, expected line, expected words in the message)
PROCEDURE_CASES = [
    ("yaml syntax", "  - id: b\n", "  - id: b\n  bad: [unclosed\n", None, ["YAML"]),
    ("duplicate key", "    handling: 1\n", "    handling: 1\n    handling: 2\n", 17, ["duplicate"]),
    ("unknown field", "    after: [a]\n", "    afte: [a]\n", 17, ["unknown field 'afte'", "after"]),
    ("wrong type", "    handling: 1\n", "    handling: [1, 2]\n", 16, ["steps[1].handling", "a number"]),
    ("unknown step in after", "after: [a]", "after: [aa]", 17, ["unknown step 'aa'", "'a'"]),
    ("self loop", "after: [a]", "after: [b]", 17, ["waits on itself"]),
    ("negative duration", "min: 1, mode: 2", "min: -1, mode: 2", 11, ["min"]),
    ("inverted triangular", "min: 1, mode: 2, max: 3", "min: 1, mode: 5, max: 3", 11, ["mode"]),
    ("probability above one", "probability: 0.5", "probability: 1.5", 6, ["probability"]),
    ("bad condition", "    handling: 1\n", "    handling: 1\n    when: \"bigg\"\n", 17, ["did you mean 'big'"]),
    ("missing field", "    agency: review\n", "", 13, ["missing required field 'agency'"]),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "line", "words"), PROCEDURE_CASES, ids=[c[0] for c in PROCEDURE_CASES]
)
def test_procedure_errors_name_file_line_and_field(tmp_path, name, old, new, line, words):
    assert old in GOOD
    path = write_case(tmp_path, GOOD.replace(old, new, 1), scenario_text())
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "proc.yaml" in message
    if line is not None:
        assert caught.value.line == line, message
    for word in words:
        assert word in message, message


def test_cycle_is_named(tmp_path):
    text = GOOD.replace("handling: {type: triangular, min: 1, mode: 2, max: 3}", "handling: 1\n    after: [b]")
    path = write_case(tmp_path, text, scenario_text())
    with pytest.raises(InputError, match="cycle: (a -> b -> a|b -> a -> b)"):
        load_scenario(path)


def test_unknown_agency_names_the_procedure_file(tmp_path):
    path = write_case(tmp_path, GOOD.replace("agency: review", "agency: reveiw"), scenario_text())
    with pytest.raises(InputError, match="agency 'reveiw'.*did you mean 'review'") as caught:
        load_scenario(path)
    assert caught.value.line == 15


def test_zero_staff_with_arrivals(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text(agencies=agencies(desk=0, review=1)))
    with pytest.raises(InputError, match="no staff") as caught:
        load_scenario(path)
    assert caught.value.field == "agencies[0].staff"


def test_year_without_calendar_data(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text(start="2026-12-01", days=30))
    with pytest.raises(InputError, match="2027"):
        load_scenario(path)


def test_unknown_scenario_field_suggests(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text(extra="replicatons: 3\n"))
    with pytest.raises(InputError, match="unknown field 'replicatons'.*did you mean 'replications'"):
        load_scenario(path)


def test_missing_procedure_file(tmp_path):
    path = write_case(tmp_path, GOOD, scenario_text().replace("procedure: proc", "procedure: prc"))
    with pytest.raises(InputError, match="no procedure file 'prc.yaml'"):
        load_scenario(path)
