"""Loading a procedure and a scenario: every mistake is one `InputError` naming file, line and field."""

from __future__ import annotations

import pandas as pd
import pytest

from sim import load_scenario
from sim.domain.errors import InputError
from tests.factories import TWO_STEPS as GOOD
from tests.factories import agencies, run, scenario_text, write_case

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


def until_scenario(start: str, until: str, drain: float) -> str:
    """`scenario_text` with arrivals up to a date."""
    return scenario_text(start=start, drain=drain, rate=4).replace(
        "horizon: {working_days: 5, ", f"horizon: {{until: {until}, "
    )


@pytest.mark.parametrize("drain", [5, 10, 11, 12, 20, 30])
def test_arrivals_until_a_date_with_any_drain(tmp_path, drain):
    # The calendar was grown one working day short of the horizon check: until
    # 2025-02-28 with a drain of 5, 10, 11 or 20 was refused. From 2025-02-03 (still the
    # Spring Festival holiday), 19 working days of arrivals: 02-05..07, Saturday 02-08
    # (worked), then three full weeks through Friday 02-28.
    path = write_case(tmp_path, GOOD, until_scenario("2025-02-03", "2025-02-28", drain))
    scenario = load_scenario(path)
    assert scenario.horizon.arrival_days == 19
    assert len(scenario.calendar) >= scenario.horizon.end + 1


def test_arrivals_until_a_holiday_stop_on_the_working_day_before(tmp_path):
    # 2024-10-01 is the National Day: arrivals end on Monday 09-30 (a day of arrivals
    # from 09-23: 09-23..27, Sunday 09-29 worked, 09-30 = 7), not on 10-08.
    path = write_case(tmp_path, GOOD, until_scenario("2024-09-23", "2024-10-01", 10))
    scenario = load_scenario(path)
    assert scenario.horizon.arrival_days == 7
    _, cases, _ = run(path)
    assert cases["arrival_date"].max() <= pd.Timestamp("2024-09-30")
    assert cases["arrival_date"].max() == pd.Timestamp("2024-09-30")  # 4 a day: some that day


def test_arrivals_until_a_date_before_any_working_day(tmp_path):
    path = write_case(tmp_path, GOOD, until_scenario("2024-10-01", "2024-10-03", 10))
    with pytest.raises(InputError, match="no working day from 2024-10-01"):
        load_scenario(path)
