"""Calendar override files: the holidays and working weekends of years chinesecalendar lacks."""

import datetime as dt

import pytest

from sim.domain.calendar import WorkingCalendar, YearOverride
from sim.domain.errors import InputError
from sim.inputs.overrides import load_overrides
from tests.factories import OVERRIDE_2027

D = dt.date


def test_override_year(tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text(OVERRIDE_2027, encoding="utf-8")
    overrides = load_overrides(path)
    assert overrides == (YearOverride(2027, (D(2027, 1, 1), D(2027, 2, 5)), (D(2027, 2, 14),)),)

    cal = WorkingCalendar.build(D(2026, 12, 1), D(2027, 3, 31), overrides)
    assert not cal.is_workday(D(2027, 1, 1))  # Friday, listed holiday
    assert not cal.is_workday(D(2027, 2, 5))  # Friday, listed holiday
    assert cal.is_workday(D(2027, 2, 14))  # Sunday, listed working weekend
    assert not cal.is_workday(D(2027, 2, 13))  # Saturday, not listed
    assert cal.is_workday(D(2027, 1, 4))  # ordinary Monday
    assert cal.is_workday(D(2026, 12, 31))  # 2026 still comes from chinesecalendar
    assert cal.end_date == D(2027, 3, 31)


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        (OVERRIDE_2027.replace("2027-02-05", "2027-02-30"), 3, "not a date"),
        (OVERRIDE_2027.replace("2027-02-14", "2026-02-14"), 5, "not in 2027"),
        (OVERRIDE_2027.replace("source:", "sauce:"), 6, "unknown field 'sauce'"),
        ("calendar:\n  years: []\n", 1, "unknown field 'calendar'"),
        (OVERRIDE_2027.replace("2027-02-05", "2027-02-06"), 3, "Saturday"),
        (OVERRIDE_2027.replace("2027-02-14", "2027-02-15"), 5, "Monday"),
        (OVERRIDE_2027 + "  - year: 2027\n", 7, "listed twice"),
        ("years:\n  - year: 2027\n    holidays: [2027/01/01]\n", 3, "not a date"),
        ("years:\n  - year: [2027\n", 3, "YAML"),
    ],
)
def test_override_file_errors(tmp_path, text, line, match):
    path = tmp_path / "overrides.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        load_overrides(path)
    assert info.value.line == line
    assert str(path) in str(info.value)
