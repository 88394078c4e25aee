"""Calendar override files: working-day arrangements for years chinesecalendar does not know.

The format is::

    years:
      - year: 2027
        holidays: [2027-01-01, 2027-02-05]      # weekdays off
        working_weekends: [2027-02-14]          # weekends worked (调休)
        source: "State Council notice ..."      # free text, optional
"""

from __future__ import annotations

import datetime
from pathlib import Path

from sim.domain.calendar import YearOverride
from sim.domain.errors import InputError
from sim.inputs.schema import OverridesSpec
from sim.inputs.validation import validated
from sim.inputs.yaml import field_path, line_of, read_yaml


def load_overrides(path: Path) -> tuple[YearOverride, ...]:
    """Read an override file: one `YearOverride` per year, in file order.

    Raises:
        InputError: The file is missing or not valid YAML, or names an unknown field, a
            year twice, a bad date, a date outside its year, a holiday on a weekend or a
            working weekend on a weekday; naming the file, line and field.
    """
    path = Path(path)
    data = read_yaml(path)
    spec = validated(OverridesSpec, data, path)
    first_line: dict[int, int | None] = {}
    for index, entry in enumerate(spec.years):
        line = line_of(data, ("years", index, "year"))
        if entry.year in first_line:
            raise InputError(
                f"year {entry.year} is listed twice (first on line {first_line[entry.year]})",
                file=path,
                line=line,
                field=f"years[{index}].year",
            )
        first_line[entry.year] = line
        for key in ("holidays", "working_weekends"):
            for position, day in enumerate(getattr(entry, key) or ()):
                problem = _misplaced(day, entry.year, weekend=key == "working_weekends")
                if problem:
                    loc = ("years", index, key, position)
                    raise InputError(problem, path, line_of(data, loc), field_path(loc))
    return tuple(
        YearOverride(
            entry.year,
            tuple(sorted(set(entry.holidays or ()))),
            tuple(sorted(set(entry.working_weekends or ()))),
        )
        for entry in spec.years
    )


def _misplaced(day: datetime.date, year: int, *, weekend: bool) -> str:
    """Why a date cannot be listed where it is, or an empty text."""
    if day.year != year:
        return f"{day} is not in {year}"
    if weekend and day.weekday() < 5:
        return (
            f"{day} is a {day:%A}; working_weekends lists only Saturdays and Sundays "
            "(weekdays are working days anyway)"
        )
    if not weekend and day.weekday() >= 5:
        return f"{day} is a {day:%A}; holidays lists only weekdays (weekends are days off anyway)"
    return ""
