"""A scenario names its calendar: the Chinese one, a country's, weekdays or every day."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.domain.calendar import DayRule
from sim.domain.errors import InputError
from tests.factories import scenario_text

PROCEDURE = """
id: proc
name: {zh: 测试, en: test}
target: {working_days: 5, source: test}
steps:
  - {id: a, name: {zh: 受理, en: intake}, agency: desk, handling: 1, source: test}
"""


def test_country_calendar_runs_on_its_days(write):
    path = write(
        PROCEDURE,
        scenario_text(start="2005-04-22").replace(
            "calendar: {start: 2005-04-22}", "calendar: {start: 2005-04-22, country: IT}"
        ),
    )
    scenario = load_scenario(path)
    assert scenario.calendar.rule == DayRule("country", "IT")
    # Friday 22 April, then Tuesday 26 April: the 25th is Liberation Day.
    assert scenario.calendar.date_of(1).isoformat() == "2005-04-26"


@pytest.mark.parametrize("days", ["weekdays", "all"])
def test_days_calendars(write, days):
    path = write(
        PROCEDURE,
        scenario_text().replace(
            "calendar: {start: 2025-03-03}", f"calendar: {{start: 2025-03-03, days: {days}}}"
        ),
    )
    assert load_scenario(path).calendar.rule == DayRule(days)


@pytest.mark.parametrize(
    ("calendar", "field", "words"),
    [
        ("{start: 2025-03-03, country: ZZ}", "calendar.country", "unknown country 'ZZ'"),
        ("{start: 2025-03-03, country: IT, days: all}", "calendar", "not both"),
        ("{start: 2025-03-03, days: sundays}", "calendar.days", "weekdays"),
    ],
)
def test_bad_calendars_name_the_field(write, calendar, field, words):
    path = write(
        PROCEDURE, scenario_text().replace("calendar: {start: 2025-03-03}", f"calendar: {calendar}")
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.field == field
    assert words in str(caught.value)
