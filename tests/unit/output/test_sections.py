"""The report's explanation of a missed target (`target_gap`), on critical paths written by hand,
and the steps' facts it reads from a saved scenario (`step_facts`)."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.output.rundata import SAME
from sim.output.sections import Names, step_facts, target_gap

NAMES = {
    "name_check": ("名称核准", "Name check", "market", "市场监管局", "Market bureau"),
    "registration": ("设立登记", "Registration", "market", "市场监管局", "Market bureau"),
    "bank_account": ("银行开户", "Bank account", "bank", "银行", "Bank"),
    "seal": ("刻章", "Seal engraving", "police", "公安局", "Police"),
}
FACTS = {
    "name_check": {
        "source": "assumption: name",
        "handling_on_clock": True,
        "waiting_on_clock": True,
        "limit": 0.25,
    },
    "registration": {
        "source": "plan 二、1",
        "handling_on_clock": True,
        "waiting_on_clock": True,
        "limit": 0.75,
    },
    "bank_account": {
        "source": "assumption: bank checks",
        "handling_on_clock": True,
        "waiting_on_clock": False,
        "limit": None,
    },
    "seal": {
        "source": "assumption: the shop",
        "handling_on_clock": True,
        "waiting_on_clock": False,
        "limit": 0.5,
    },
}


def drivers(parts: list[tuple[str, str, float]]) -> pd.DataFrame:
    """A `tail_drivers` frame of (step, kind, mean days over all cases) rows."""
    rows = []
    for step, kind, days in parts:
        zh, en, agency, agency_zh, agency_en = NAMES[step]
        rows.append(
            {
                "step": step,
                "step_zh": zh,
                "step_en": en,
                "agency": agency,
                "agency_zh": agency_zh,
                "agency_en": agency_en,
                "kind": kind,
                "all_days": days,
            }
        )
    return pd.DataFrame(rows)


def summary_row(
    mean: float, target: float, unit: str = "working_days", calendar: float | None = None
):
    return pd.Series(
        {
            "mean_days": mean,
            "mean_calendar_days": calendar if calendar is not None else mean * 1.4,
            "target_days": target,
            "target_unit": unit,
        }
    )


COMPANY = [
    ("name_check", "handling", 0.1),
    ("name_check", "waiting", 0.2),
    ("registration", "waiting", 0.6),
    ("registration", "correction", 0.3),
    ("bank_account", "waiting", 1.5),
    ("seal", "waiting", 0.8),
]
MEAN = 3.5  # the parts' sum: 0.9 on the approval clock, 2.6 off it


def test_time_off_the_clock_carries_the_gap_and_the_largest_steps_are_named():
    # 0.9 on the clock is within 1.5; the gap of 2.0 is covered by the bank (1.5) and the
    # engraving shop (0.8), largest first.
    gap = target_gap(drivers(COMPANY), summary_row(MEAN, 1.5), FACTS, "en")
    assert gap["summary"] == (
        "The mean, 3.5 working days, is 2.0 working days over the target of 1.5 working "
        "days. On the critical path 0.9 working days on average are on the approval clock "
        "(the agencies' time) and 2.6 off it (the applicant, banks, engraving shops, "
        "consultants, expert reviews, public notice)."
    )
    assert gap["lead"].startswith("The time on the approval clock is within the target")
    assert gap["reasons"] == [
        {
            "text": "Bank account (Bank): 1.5 working days on average (waiting 1.5; off the "
            "approval clock)",
            "source": "source: assumption: bank checks",
        },
        {
            "text": "Seal engraving (Police): 0.8 working days on average (waiting 0.8; off the "
            "approval clock, committed limit 0.5 working days)",
            "source": "source: assumption: the shop",
        },
    ]
    assert gap["rest"] == ""


def test_a_gap_larger_than_the_named_steps_says_what_is_left():
    gap = target_gap(drivers(COMPANY), summary_row(MEAN, 1.5), FACTS, "zh", top=1)
    assert [r["text"] for r in gap["reasons"]] == [
        "银行开户（银行）：平均 1.5 个工作日（等待 1.5；不计入审批时限）"
    ]
    assert gap["rest"] == "其余 0.5 个工作日分散在其他环节。"  # 2.0 - 1.5


def test_time_on_the_clock_over_the_target_names_steps_of_either_kind():
    # Target 0.5: the 0.9 on the clock exceeds it; the registration (0.6 on + 0.3 off) comes
    # after the bank (1.5) and before the shop (0.8): the gap of 3.0 needs all three (3.2).
    gap = target_gap(drivers(COMPANY), summary_row(MEAN, 0.5), FACTS, "en")
    assert gap["lead"].startswith("The time on the approval clock exceeds the target")
    assert [r["text"].split(" (")[0] for r in gap["reasons"]] == [
        "Bank account",
        "Registration",
        "Seal engraving",
    ]
    assert gap["reasons"][1]["text"] == (
        "Registration (Market bureau): 0.9 working days on average (waiting 0.6, correction "
        "0.3; 0.6 on the approval clock, 0.3 off it, committed limit 0.75 working days)"
    )
    assert gap["rest"] == ""


def test_a_mean_within_the_target_needs_no_explanation():
    assert target_gap(drivers(COMPANY), summary_row(MEAN, 4.0), FACTS, "en") is None
    assert target_gap(drivers([]), summary_row(MEAN, 1.5), FACTS, "en") is None


@pytest.mark.parametrize(
    ("calendar", "explained"),
    [(35.0, True), (29.0, False)],
)
def test_a_calendar_day_target_compares_the_calendar_mean(calendar, explained):
    # 3.5 working days over 35 calendar days: a target of 30 calendar days is 3.0 working
    # days of this path; the 0.9 on the clock is within it and the gap of 0.5 is the bank's.
    gap = target_gap(
        drivers(COMPANY), summary_row(MEAN, 30, "calendar_days", calendar), FACTS, "en"
    )
    assert (gap is not None) == explained
    if explained:
        assert gap["summary"].startswith(
            "The mean, 35.0 calendar days, is 5.0 calendar days over the target of 30 calendar days."
        )
        assert [r["text"].split(" (")[0] for r in gap["reasons"]] == ["Bank account"]


def saved_step(step_id: str, source: str, limit: float | None = None, waiting: bool = True):
    """A step as ``scenario.json`` holds it (`sim.output.rundata.scenario_data`)."""
    return {
        "id": step_id,
        "source": source,
        "handling_on_clock": True,
        "waiting_on_clock": waiting,
        "time_limit": {"days": limit, "waiting": True} if limit is not None else None,
    }


def test_step_facts_read_the_variant_s_steps_or_the_baseline_s_when_unchanged():
    baseline = {"procedure": {"steps": [saved_step("bank_account", "assumption: bank")]}}
    package = {"procedure": {"steps": [saved_step("bank_account", "plan 二、2", 1.0, False)]}}
    names = Names(
        {
            "models": {
                "baseline": {"procedures": {"company_setup": baseline}},
                "same": {"procedures": {"company_setup": SAME}},
                "package": {"procedures": {"company_setup": package}},
            }
        },
        "en",
    )
    base_facts = {
        "bank_account": {
            "source": "assumption: bank",
            "handling_on_clock": True,
            "waiting_on_clock": True,
            "limit": None,
        }
    }
    assert step_facts(names, "baseline", "company_setup") == base_facts
    assert step_facts(names, "same", "company_setup") == base_facts
    assert step_facts(names, "package", "company_setup") == {
        "bank_account": {
            "source": "plan 二、2",
            "handling_on_clock": True,
            "waiting_on_clock": False,
            "limit": 1.0,
        }
    }
    assert step_facts(names, "package", "water_connection") == {}
