"""Settings of a sweep (``--set PATH=VALUES``): parsed, combined and applied to a file."""

from __future__ import annotations

import pytest

from sim.domain.errors import InputError
from sim.inputs.settings import Setting, apply_settings, grid, parse_setting

DATA = {
    "seed": 1,
    "agencies": [{"id": "desk", "staff": 2}, {"id": "review", "staff": 1}],
    "procedures": [{"procedure": "proc", "arrivals_per_day": 1.0}],
    "horizon": {"working_days": 20},
}


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("agencies.desk.staff=8..11", (8, 9, 10, 11)),
        ("agencies.desk.staff=2..10..4", (2, 6, 10)),
        ("procedures.proc.arrivals_per_day=0.5,1,2", (0.5, 1, 2)),
        ("horizon.working_days = 10, 20", (10, 20)),
        ("x=1,1,2", (1, 2)),
    ],
)
def test_values_as_lists_and_ranges(text, values):
    setting = parse_setting(text)
    assert setting.values == values
    assert all(type(a) is type(b) for a, b in zip(setting.values, values, strict=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agencies.desk.staff", "PATH=VALUES"),
        ("=1,2", "PATH=VALUES"),
        ("a..b=1", "PATH=VALUES"),
        ("a=10..2", "is empty"),
        ("a=1,,2", "an empty value"),
        ("a=1..100000", "over 10,000"),
    ],
)
def test_bad_settings_are_one_clear_error(text, message):
    with pytest.raises(InputError, match=message):
        parse_setting(text)


def test_grid_varies_the_first_setting_slowest():
    points = grid([Setting("a", (1, 2)), Setting("b", ("x", "y", "z"))])
    assert points[:4] == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
    ]
    assert len(points) == 6
    with pytest.raises(InputError, match="given twice"):
        grid([Setting("a", (1,)), Setting("a", (2,))])
    with pytest.raises(InputError, match="points, more than"):
        grid([Setting("a", tuple(range(200))), Setting("b", tuple(range(200)))])


def test_settings_find_items_by_their_ids_and_leave_the_file_alone():
    changed = apply_settings(
        DATA, {"agencies.review.staff": 5, "procedures.proc.arrivals_per_day": 2.5, "seed": 9}
    )
    assert changed["agencies"][1] == {"id": "review", "staff": 5}
    assert changed["procedures"][0]["arrivals_per_day"] == 2.5 and changed["seed"] == 9
    assert DATA["agencies"][1]["staff"] == 1 and DATA["seed"] == 1  # a copy was changed
    assert apply_settings(DATA, {"agencies.0.staff": 7})["agencies"][0]["staff"] == 7


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("agencies.deskk.staff", "no 'agencies.deskk'; did you mean 'desk'"),
        ("agency.desk.staff", "no 'agency'; did you mean 'agencies'"),
        ("seed.value", "'seed' is a value"),
    ],
)
def test_a_path_that_leads_nowhere_names_what_is_there(path, message):
    with pytest.raises(InputError, match=message):
        apply_settings(DATA, {path: 3}, file="s.yaml")
