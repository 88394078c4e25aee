"""Labelled pins: the bundled packages against the targets of the documents they model.

Each bundled scenario's baseline and package (its last variant) are run for
`REPLICATIONS` replications of the scenario's own seed with the discrete-event engine.
A target is checked two ways:

* on the mean: the mean elapsed time of completed cases, in the target's unit, is
  within the target (for the export refund, whose target is an average, this is the
  test);
* on the share: the share of arrived cases completed within the target, with its 95%
  interval over the replications, against the share the target asks for (`SHARE`: 90%
  unless the document says otherwise, as the complaint target's 80%): ``met`` when the
  whole interval is at or above it, ``missed`` when the whole interval is below, else
  ``undecided``.

The verdicts are pinned with the reason (the steps and assumptions that keep a package
from a target, which the report names too); the figures are pinned loosely (0.5% of the
mean, half a point of the share) so that `docs/targets.md`, which quotes them, stays
true. The baselines are checked against the pre-reform figures they are calibrated to.
A change of data or engine that moves a verdict or a figure must update this file and
`docs/targets.md` together, saying why. This is slow (about 25 s).
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from sim import load_scenario
from sim.analysis import summarize_run
from sim.analysis.intervals import wilson_interval
from sim.run.experiment import run_experiment
from tests.factories import PROJECT_ROOT

pytestmark = pytest.mark.slow

REPLICATIONS = 3
SHARE = 0.9
SHARES = {
    "enterprise_complaint": 0.8
}  # 2018年海城市...实施方案 四(一) 量化指标4: 6个月内办结率不低于80%

MET, MISSED, UNDECIDED = "met", "missed", "undecided"


@cache
def summary(scenario_name: str):
    """Baseline and package of a bundled scenario: the summarised run, and the scenario.

    The complaint scenario is small: every replication's step rows are kept, for the
    milestones read from them.
    """
    scenario = load_scenario(PROJECT_ROOT / "scenarios" / f"{scenario_name}.yaml")
    variants = ["baseline", scenario.variant_names[-1]]
    steps = "all" if scenario_name == "haicheng_2018" else "first"
    result = run_experiment(scenario, replications=REPLICATIONS, variants=variants, steps=steps)
    return summarize_run(result), scenario


def figures(scenario_name: str, variant: str, procedure: str) -> dict:
    """Mean (target's unit), share within target and its interval, and the two verdicts."""
    result, scenario = summary(scenario_name)
    name = scenario.variant_names[-1] if variant == "package" else variant
    rows = result.summary
    row = rows[(rows["variant"] == name) & (rows["procedure"] == procedure)].iloc[0]
    calendar = row["target_unit"] == "calendar_days"
    mean = float(row["mean_calendar_days"] if calendar else row["mean_days"])
    low, high = float(row["share_within_target_low"]), float(row["share_within_target_high"])
    return {
        "mean": mean,
        "share": float(row["share_within_target"]),
        "low": low,
        "high": high,
        "on_mean": MET if mean <= float(row["target_days"]) else MISSED,
        "on_share": verdict(low, high, SHARES.get(procedure, SHARE)),
    }


def verdict(low: float, high: float, asked: float) -> str:
    """``met`` when the whole interval is at or above the share asked, ``missed`` below."""
    if low >= asked:
        return MET
    return MISSED if high < asked else UNDECIDED


# (scenario, procedure): (on the mean, on the share, mean in the target's unit, share, why).
PACKAGES = {
    # ---- baoji_2022, package_2022 (宝政办函〔2022〕21号): the plan's own targets
    ("baoji_2022", "company_setup"): (
        MISSED,
        MISSED,
        4.03,
        0.000,
        (
            "the agencies' part is within 1.5 on the approval clock (1.49); the bank's checks "
            "and the engraving shop (1-3 days each, off the clock, assumptions; no limit of the "
            "plan governs them) keep every case over 1.5"
        ),
    ),
    ("baoji_2022", "deregistration_simple"): (
        MET,
        UNDECIDED,
        0.71,
        0.902,
        ("decided within the day; a send-back at intake (about one in ten) takes days"),
    ),
    ("baoji_2022", "construction_social"): (
        MISSED,
        MISSED,
        83.13,
        0.032,
        (
            "about 38 on the approval clock (99% within 60); the drawing review firm, expert "
            "reviews and public notice (off the clock, 行政许可法 art. 45; assumptions) add 45"
        ),
    ),
    ("baoji_2022", "construction_government"): (
        MISSED,
        MISSED,
        133.04,
        0.014,
        (
            "about 42 on the clock; the appraisals of feasibility study and preliminary design "
            "and the drawing review (off the clock, assumptions) add about 90"
        ),
    ),
    ("baoji_2022", "construction_small"): (
        MISSED,
        MISSED,
        19.84,
        0.150,
        (
            "about 11 on the clock; the survey firm (off the clock) and post-check reworks of "
            "the commitments add about 9"
        ),
    ),
    ("baoji_2022", "power_low_voltage"): (
        MET,
        MET,
        7.70,
        0.943,
        ("limits on the grid company's steps, permits side by side"),
    ),
    ("baoji_2022", "water_connection"): (
        MET,
        UNDECIDED,
        7.62,
        0.898,
        ("limits and commitments; a tenth still over 10 after a send-back or a rework"),
    ),
    ("baoji_2022", "gas_no_external"): (
        MET,
        MISSED,
        3.75,
        0.745,
        (
            "four steps of up to a day each; a failed safety check (8%, an assumption) sends "
            "the case back for days"
        ),
    ),
    ("baoji_2022", "gas_small_external"): (
        MET,
        MET,
        11.04,
        0.948,
        ("limits, permits side by side, tolerated deficiency within 150 m"),
    ),
    ("baoji_2022", "property_general"): (
        MET,
        MISSED,
        3.86,
        0.662,
        (
            "one window and limits; send-backs at the one intake and the 2.5-day review limit "
            "put a third over 4"
        ),
    ),
    ("baoji_2022", "property_mortgage"): (
        MISSED,
        MISSED,
        2.63,
        0.103,
        (
            "the registry is within 2 on the clock (1.27); the bank's own preparation (off "
            "the clock, an assumption; no limit of the plan) adds about a day"
        ),
    ),
    ("baoji_2022", "property_seizure"): (
        MET,
        MET,
        0.29,
        0.979,
        ("entered in the register while the officers wait"),
    ),
    # ---- jingmen_2024, package_2024 (荆门“5+3行动”实施方案(征求意见稿)): its own day counts
    ("jingmen_2024", "export_tax_refund"): (
        MET,
        UNDECIDED,
        2.60,
        0.909,
        ("the target is an average, met on the mean"),
    ),
    ("jingmen_2024", "credit_repair"): (
        MET,
        MISSED,
        1.99,
        0.806,
        (
            "a fifth of applications are sent back for the proof that the penalty was met "
            "(an assumption)"
        ),
    ),
    ("jingmen_2024", "court_speedy_trial"): (
        MET,
        MISSED,
        24.36,
        0.698,
        ("cases whose parties keep the 15-day answer period (30%, an assumption) run over"),
    ),
    ("jingmen_2024", "court_simple_appraisal"): (
        MISSED,
        MISSED,
        95.71,
        0.490,
        (
            "the appraisal (median 40 calendar days, an assumption) is no court time and "
            "carries the gap"
        ),
    ),
    ("jingmen_2024", "court_ip_small_claims"): (
        MET,
        MET,
        40.04,
        0.971,
        ("the fast track's limits on hearing and judgment"),
    ),
    # ---- jingmen_2024: the core procedures against Baoji's targets, which this plan
    # does not address (it tolerates minor defects, re-engineers two processes, bundles)
    ("jingmen_2024", "company_setup"): (
        MISSED,
        MISSED,
        15.33,
        0.000,
        (
            "only tolerated deficiency and social insurance without application; the "
            "registrations stay one after another, without limits"
        ),
    ),
    ("jingmen_2024", "construction_social"): (
        MISSED,
        MISSED,
        200.97,
        0.000,
        ("tolerated deficiency and online only"),
    ),
    ("jingmen_2024", "construction_government"): (
        MISSED,
        MISSED,
        192.87,
        0.000,
        ("the evaluations side by side and small projects without a proposal only"),
    ),
    ("jingmen_2024", "construction_small"): (MISSED, MISSED, 48.36, 0.000, "online only"),
    ("jingmen_2024", "power_low_voltage"): (
        MISSED,
        MISSED,
        16.30,
        0.499,
        ("tolerated deficiency only; the permits stay one after another"),
    ),
    ("jingmen_2024", "water_connection"): (
        MISSED,
        MISSED,
        15.87,
        0.449,
        "tolerated deficiency only",
    ),
    ("jingmen_2024", "gas_no_external"): (MISSED, MISSED, 6.73, 0.000, "no measure of the plan"),
    ("jingmen_2024", "gas_small_external"): (
        MISSED,
        MISSED,
        26.34,
        0.000,
        "tolerated deficiency only",
    ),
    ("jingmen_2024", "property_general"): (MISSED, MISSED, 8.10, 0.000, "one window, no limit"),
    ("jingmen_2024", "property_mortgage"): (MISSED, MISSED, 5.31, 0.000, "no measure of the plan"),
    # ---- xinxiang_2021, package_2021: the zone's plan sets no day counts; Baoji's targets
    ("xinxiang_2021", "company_setup"): (
        MISSED,
        MISSED,
        9.77,
        0.000,
        (
            "the packaged window hands the follow-on registrations on together but takes "
            "the longest of their times; no limits"
        ),
    ),
    ("xinxiang_2021", "construction_social"): (
        MISSED,
        MISSED,
        176.72,
        0.000,
        ("standard land helps the projects in assessed zones only"),
    ),
    ("xinxiang_2021", "construction_government"): (MISSED, MISSED, 221.43, 0.000, "online only"),
    ("xinxiang_2021", "construction_small"): (MISSED, MISSED, 48.86, 0.000, "online only"),
    ("xinxiang_2021", "power_low_voltage"): (MISSED, MISSED, 17.32, 0.517, "online only"),
    ("xinxiang_2021", "water_connection"): (MISSED, MISSED, 16.92, 0.402, "online only"),
    ("xinxiang_2021", "gas_no_external"): (MISSED, MISSED, 6.75, 0.000, "online only"),
    ("xinxiang_2021", "gas_small_external"): (MISSED, MISSED, 28.44, 0.000, "online only"),
    ("xinxiang_2021", "property_general"): (MISSED, MISSED, 9.66, 0.000, "online only"),
    ("xinxiang_2021", "property_mortgage"): (MISSED, MISSED, 5.34, 0.000, "online only"),
    # ---- demo, full_package: the structural measures without the plans' limits
    ("demo", "company_setup"): (
        MISSED,
        MISSED,
        11.66,
        0.000,
        ("side by side and online, but the sign-offs keep their pre-reform times"),
    ),
    ("demo", "construction_social"): (
        MISSED,
        MISSED,
        102.69,
        0.000,
        ("merged evaluations, reviews and surveys, joint acceptance; about 59 on the clock"),
    ),
    ("demo", "construction_government"): (
        MISSED,
        MISSED,
        153.53,
        0.000,
        ("as social; the appraisals off the clock remain"),
    ),
    ("demo", "construction_small"): (MISSED, MISSED, 42.59, 0.000, "joint acceptance only"),
    ("demo", "power_low_voltage"): (
        MET,
        MISSED,
        12.83,
        0.507,
        ("permits side by side: connections without line works meet 13, those with works do not"),
    ),
    ("demo", "water_connection"): (MISSED, MISSED, 13.82, 0.393, "permits side by side only"),
    ("demo", "gas_no_external"): (MISSED, MISSED, 6.89, 0.000, "no measure in the package"),
    ("demo", "gas_small_external"): (
        MISSED,
        MISSED,
        18.82,
        0.024,
        ("permits side by side and tolerated deficiency, no limit"),
    ),
    ("demo", "property_general"): (MISSED, MISSED, 8.43, 0.000, "one window, no limit"),
    ("demo", "property_mortgage"): (MISSED, MISSED, 5.30, 0.000, "online only"),
    # ---- haicheng_2018, complaint_limits (2018年海城市优化营商环境专项整治工作实施方案)
    ("haicheng_2018", "enterprise_complaint"): (
        MET,
        MET,
        93.44,
        0.870,
        (
            "limits on registration, verification, plan and meeting; deadlines and "
            "supervision on rectification (0.6 of the time, an assumption)"
        ),
    ),
}

# Pre-reform figures the baselines are calibrated to: (scenario, procedure): (lowest,
# highest mean, source). Baselines without a published figure are assumptions, pinned
# below with the packages' figures' tolerance.
PUBLISHED = {
    ("baoji_2022", "company_setup"): (19.0, 21.0, "国办发〔2018〕32号: 目前平均20个工作日"),
    ("baoji_2022", "construction_social"): (
        200.0,
        250.0,
        "国办发〔2018〕33号: 目前平均200多个工作日",
    ),
    ("baoji_2022", "construction_government"): (
        200.0,
        250.0,
        "国办发〔2018〕33号: 目前平均200多个工作日",
    ),
}
ASSUMED = {
    ("baoji_2022", "deregistration_simple"): 2.98,
    ("baoji_2022", "construction_small"): 47.86,
    ("baoji_2022", "power_low_voltage"): 17.47,
    ("baoji_2022", "water_connection"): 16.64,
    ("baoji_2022", "gas_no_external"): 6.75,
    ("baoji_2022", "gas_small_external"): 28.15,
    ("baoji_2022", "property_general"): 9.63,
    ("baoji_2022", "property_mortgage"): 5.30,
    ("baoji_2022", "property_seizure"): 2.35,
    ("jingmen_2024", "export_tax_refund"): 9.68,
    ("jingmen_2024", "credit_repair"): 5.59,
    ("jingmen_2024", "court_speedy_trial"): 49.18,
    ("jingmen_2024", "court_simple_appraisal"): 104.32,
    ("jingmen_2024", "court_ip_small_claims"): 68.10,
    ("haicheng_2018", "enterprise_complaint"): 143.31,
}


@pytest.mark.parametrize(("scenario", "procedure"), sorted(PACKAGES))
def test_pin_package_against_target(scenario, procedure):
    on_mean, on_share, mean, share, why = PACKAGES[(scenario, procedure)]
    found = figures(scenario, "package", procedure)
    assert (found["on_mean"], found["on_share"]) == (on_mean, on_share), why
    assert found["mean"] == pytest.approx(mean, rel=0.005), why
    assert found["share"] == pytest.approx(share, abs=0.005), why


def test_every_procedure_of_every_package_is_pinned():
    for scenario in {key[0] for key in PACKAGES}:
        result, _ = summary(scenario)
        run = set(result.summary["procedure"])
        assert run == {p for s, p in PACKAGES if s == scenario}, scenario


@pytest.mark.parametrize(("scenario", "procedure"), sorted(PUBLISHED))
def test_baseline_matches_the_published_pre_reform_figure(scenario, procedure):
    low, high, source = PUBLISHED[(scenario, procedure)]
    assert low <= figures(scenario, "baseline", procedure)["mean"] <= high, source


@pytest.mark.parametrize(("scenario", "procedure"), sorted(ASSUMED))
def test_pin_assumed_baseline(scenario, procedure):
    assert figures(scenario, "baseline", procedure)["mean"] == pytest.approx(
        ASSUMED[(scenario, procedure)], rel=0.005
    )


# The complaint target's two milestones, read from every replication's step rows: the
# share of reasonable complaints with a plan within 10 working days of the complaint, and
# of disputed ones with a meeting within 15 (Wilson intervals over the cases).
MILESTONES = {
    ("baseline", "rectification_plan", 10): (MISSED, 0.0, 211),
    ("baseline", "negotiation", 15): (MISSED, 0.0, 93),
    ("complaint_limits", "rectification_plan", 10): (UNDECIDED, 0.8768, 211),
    ("complaint_limits", "negotiation", 15): (UNDECIDED, 0.8925, 93),
}


@pytest.mark.parametrize(("variant", "step", "limit"), sorted(MILESTONES))
def test_pin_complaint_milestones(variant, step, limit):
    # Under the limits, a verification that asks the company for more evidence (15%, an
    # assumption) still pushes about a tenth past the milestone.
    expected, share, count = MILESTONES[(variant, step, limit)]
    result, _ = summary("haicheng_2018")
    steps, cases = result.steps, result.cases
    done = steps[
        (steps["variant"] == variant)
        & (steps["step"] == step)
        & steps["outcome"].isin(["accepted", "tolerated"])
    ]
    arrivals = cases[cases["variant"] == variant].set_index(["replication", "case_id"])
    started = arrivals.loc[list(zip(done["replication"], done["case_id"], strict=True))]
    within = int((done["end_day"].to_numpy() - started["arrival_day"].to_numpy() <= limit).sum())
    low, high = wilson_interval(within, len(done))
    assert (verdict(low, high, SHARE), len(done)) == (expected, count)
    assert within / len(done) == pytest.approx(share, abs=0.0005)
    assert not math.isnan(low)
