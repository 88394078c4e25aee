"""The parts of the report's context, which `sim.output.report` assembles.

Numbers formatted with their intervals, and the sentences and tables of each
procedure's section.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.analysis import summarize_run
from sim.analysis.intervals import BASIS_FIXED
from sim.domain.model import Name
from sim.output.text import GAP, REPORT, has_cjk, unit_label
from sim.run.experiment import RunResult

MEASURE_ROWS = (
    ("steps", "steps", 1),
    ("materials", "materials", 1),
    ("certificates", "certificates", 1),
    ("trips", "trips", 1),
    ("mean_days", "mean_days", 1),
    ("fees_cny", "fees_cny", 0),
)
"""The six measures (六减) as (summary column, comparison metric, decimals); time is
the mean elapsed working days."""

EXTRA_ROWS = (
    ("mean_calendar_days", "mean_calendar_days", 1),
    ("p90_days", "p90_days", 1),
    ("mean_clock_days", "mean_clock_days", 1),
    ("share_within_target", "share_within_target", None),
)


SHARE = {"lower": 0.0, "upper": 1.0}
POINTS = {"lower": -100.0, "upper": 100.0}
NONNEGATIVE = {"lower": 0.0}


def finite(value: Any) -> bool:
    """Whether a value is a finite number."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; ``–`` for missing."""
    if not finite(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def pct(value: Any, digits: int = 0) -> str:
    """A share as a percentage."""
    return f"{100 * float(value):.{digits}f}%" if finite(value) else "–"


def interval(
    low: Any,
    high: Any,
    digits: int = 1,
    percent: bool = False,
    lower: float | None = None,
    upper: float | None = None,
) -> str:
    """``[low, high]`` (``[9–15%]`` for shares); empty when either bound is missing.

    ``lower`` and ``upper`` clip the bounds for display: a t interval over a few
    replications can reach below 0 for a count or past 100% for a share, values the
    quantity cannot take.
    """
    if not (finite(low) and finite(high)):
        return ""
    low, high = float(low), float(high)
    if lower is not None:
        low, high = max(low, lower), max(high, lower)
    if upper is not None:
        low, high = min(low, upper), min(high, upper)
    if percent:
        return f"[{100 * low:.0f}–{100 * high:.0f}%]"
    return f"[{_minus(f'{low:,.{digits}f}')}, {_minus(f'{high:,.{digits}f}')}]"


def _minus(text: str) -> str:
    return text.replace("-", "−")


def signed(value: Any, digits: int = 1, scale: float = 1.0) -> str:
    """A difference with its sign."""
    if not finite(value):
        return "–"
    number = scale * float(value)
    return _minus(f"{number:+,.{digits}f}")


def label(name: Any, lang: str, fallback: str = "") -> str:
    """A name in ``lang``: a `Name`, a ``{zh, en}`` mapping or plain text."""
    if isinstance(name, Name):
        return name.label(lang) or fallback
    if isinstance(name, dict):
        first, second = ("en", "zh") if lang == "en" else ("zh", "en")
        return name.get(first) or name.get(second) or fallback
    return str(name) if name else fallback


class Names:
    """Display names, targets and reforms of a run's scenario, from its saved data.

    Built from `sim.output.rundata.scenario_data` (what ``scenario.json`` holds), so a
    report from a saved run shows the names the run had.
    """

    def __init__(self, scenario: dict[str, Any], lang: str) -> None:
        self.lang = "en" if lang == "en" else "zh"
        self.data = scenario
        self.procedures: dict[str, dict[str, Any]] = scenario.get("procedures", {})
        self.agencies: dict[str, dict[str, Any]] = scenario.get("agencies", {})
        self.variants: dict[str, dict[str, Any]] = {
            v["name"]: v for v in scenario.get("variants", [])
        }

    def variant(self, variant: str) -> str:
        """The display title of a variant (``baseline`` translated)."""
        if variant == "baseline":
            return REPORT[self.lang]["baseline"]
        found = self.variants.get(variant)
        return label(found.get("title"), self.lang, variant) if found else variant

    def procedure(self, procedure: str) -> str:
        """The display name of a procedure id."""
        found = self.procedures.get(procedure)
        return label(found["name"], self.lang, procedure) if found else procedure

    def agency(self, agency: str) -> str:
        """The display name of an agency id, or of a joint ``a+b``."""
        parts = [p for p in str(agency).split("+") if p]
        return "+".join(
            label(self.agencies[p]["name"], self.lang, p) if p in self.agencies else p
            for p in parts
        )

    def target(self, procedure: str) -> tuple[float | None, str]:
        """A procedure's target in working days (None if unknown) and where it is published."""
        found = self.procedures.get(procedure)
        if not found:
            return None, ""
        return float(found["target_days"]), str(found.get("target_source") or "")

    def unit(self, procedure: str) -> str:
        """The unit of a procedure's target: ``working_days`` or ``calendar_days``."""
        return str(self.procedures.get(procedure, {}).get("target_unit", "working_days"))

    def reforms(self, variant: str) -> list[str]:
        """The labels of a variant's reforms, in order."""
        found = self.variants.get(variant, {})
        return [str(r.get("label") or r.get("type")) for r in found.get("reforms", [])]

    def touches(self, variant: str, procedure: str) -> bool:
        """Whether a variant's reforms name the procedure or change staff it may use."""
        return procedure in self.variants.get(variant, {}).get("touches", [])


def ensure_tables(result: RunResult) -> RunResult:
    """The run with its summary tables: as it is, or summarised if it has none yet."""
    if len(result.summary) and len(result.agencies):
        return result
    return summarize_run(result)


def comparison_index(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison table indexed by variant, procedure and metric."""
    if len(comparison) == 0:
        return comparison
    return comparison.set_index(["variant", "procedure", "metric"])


def lookup(frame: pd.DataFrame, key: tuple) -> pd.Series | None:
    """The row of an indexed table at ``key``, or None."""
    if len(frame) == 0 or key not in frame.index:
        return None
    found = frame.loc[key]
    return found.iloc[0] if isinstance(found, pd.DataFrame) else found


def share_with_interval(row: pd.Series) -> str:
    """A row's share within target with its interval: ``62% [58–66%]``."""
    return (
        f"{pct(row['share_within_target'])} "
        + interval(
            row["share_within_target_low"], row["share_within_target_high"], percent=True, **SHARE
        )
    ).strip()


def baseline_sentence(names: Names, procedure: str, base: pd.Series) -> str:
    """The sentence of a procedure no variant changes: where the baseline stands."""
    target = f"{float(base['target_days']):g}"
    unit = unit_label(names.unit(procedure), names.lang)
    name = names.procedure(procedure)
    mean = " ".join(
        p
        for p in (
            fmt(base["mean_days"]),
            interval(base["mean_days_low"], base["mean_days_high"], lower=0.0),
        )
        if p
    )
    if names.lang == "zh":
        return (
            f"没有方案改变{name}：基线在 {target} {unit}内办结的比例为 "
            f"{share_with_interval(base)}，平均用时 {mean} 个工作日。"
        )
    return (
        f"No variant changes {name}: in the baseline {share_with_interval(base)} of its cases "
        f"complete within {target} {unit}; the mean is {mean} working days."
    )


def highlight(
    names: Names,
    procedure: str,
    variant: str,
    base: pd.Series,
    other: pd.Series,
    compared: pd.Series | None,
) -> str:
    """One plain-language sentence on the share within target of a variant."""
    lang = names.lang
    target = f"{float(base['target_days']):g}"
    unit = unit_label(str(base.get("target_unit", "working_days")), lang)
    name = names.procedure(procedure)
    title = names.variant(variant)
    before = f"{pct(base['share_within_target'])} " + interval(
        base["share_within_target_low"], base["share_within_target_high"], percent=True, **SHARE
    )
    after = f"{pct(other['share_within_target'])} " + interval(
        other["share_within_target_low"], other["share_within_target_high"], percent=True, **SHARE
    )
    mean_before, mean_after = (
        " ".join(
            part
            for part in (
                fmt(row["mean_days"]),
                interval(row["mean_days_low"], row["mean_days_high"], lower=0.0),
            )
            if part
        )
        for row in (base, other)
    )
    replications = int(other["replications"]) if finite(other["replications"]) else 0
    difference = ""
    verdict = ""
    fixed = base.get("interval_basis") == BASIS_FIXED
    if compared is not None and finite(compared["difference"]) and fixed:
        points = signed(compared["difference"], 0, 100)
        difference = (
            f"（差 {points} 个百分点）" if lang == "zh" else f" (difference {points} points)"
        )
    elif compared is not None and finite(compared["difference"]):
        bounds = interval(
            100 * float(compared["difference_low"]) if finite(compared["difference_low"]) else None,
            100 * float(compared["difference_high"])
            if finite(compared["difference_high"])
            else None,
            digits=0,
            **POINTS,
        )
        points = signed(compared["difference"], 0, 100)
        if lang == "zh":
            difference = f"（配对差 {points} 个百分点 {bounds}）"
        else:
            difference = f" (paired difference {points} points {bounds})"
        if not bool(compared["distinguishable"]):
            needed = compared["replications_needed"]
            more = (
                (
                    f"，约需 {float(needed):.0f} 次"
                    if lang == "zh"
                    else f"; about {float(needed):.0f} needed"
                )
                if finite(needed)
                else ""
            )
            verdict = (
                f"；以 {replications} 次重复尚不能与基线区分{more}"
                if lang == "zh"
                else "; not distinguishable from the baseline with "
                f"{replications} replications{more}"
            )
    if lang == "zh":
        title = title + (" " if title and not has_cjk(title[-1]) else "")
        verdict = verdict.replace("；以", "，这一比例以", 1)
        return (
            f"{title}使{name}在 {target} {unit}内办结的比例从 {before.strip()} "
            f"变为 {after.strip()}{difference}{verdict}；平均用时从 {mean_before} 变为 "
            f"{mean_after} 个工作日。"
        )
    verdict = verdict.replace("; not distinguishable", ", a share not distinguishable", 1)
    return (
        f"{title} brings the share of {name} cases completed within {target} {unit} from "
        f"{before.strip()} to {after.strip()}{difference}{verdict}; the mean from "
        f"{mean_before} to {mean_after} working days."
    )


def measure_table(
    summary: pd.DataFrame,
    comparison: pd.DataFrame,
    procedure: str,
    variants: Sequence[str],
    lang: str,
) -> dict[str, Any]:
    """The six measures (and time figures) of a procedure, a cell per variant."""
    text = REPORT[lang]
    level = summary.set_index(["variant", "procedure"])
    rows = []
    for column, metric, digits in MEASURE_ROWS + EXTRA_ROWS:
        cells = []
        for variant in variants:
            found = lookup(level, (variant, procedure))
            if found is None:
                cells.append({"value": "–", "change": "", "strong": False})
                continue
            share = digits is None
            value = pct(found[column]) if share else fmt(found[column], digits)
            low_col, high_col = f"{column}_low", f"{column}_high"
            if low_col in found.index:
                bounds = SHARE if share else NONNEGATIVE
                value += " " + interval(
                    found[low_col], found[high_col], digits or 1, share, **bounds
                )
            cell = {"value": value.strip(), "change": "", "strong": False}
            compared = lookup(comparison, (variant, procedure, metric))
            if variant != "baseline" and compared is not None:
                scale = 100.0 if share else 1.0
                places = 0 if share else max(digits, 1)
                unit = (" pp" if lang == "en" else " 个百分点") if share else ""
                bounds = ""
                if finite(compared["difference_low"]) and finite(compared["difference_high"]):
                    bounds = " " + interval(
                        scale * float(compared["difference_low"]),
                        scale * float(compared["difference_high"]),
                        places,
                        **(POINTS if share else {}),
                    )
                cell["change"] = f"{signed(compared['difference'], places, scale)}{unit}{bounds}"
                cell["strong"] = bool(compared["distinguishable"])
            cells.append(cell)
        rows.append({"label": text[column], "cells": cells})
    return {"rows": rows}


def contribution_rows(frame: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    """The contributions table of a procedure: each relevant reform alone and cumulative."""
    if "relevant" in frame:
        frame = frame[frame["relevant"].fillna(True).astype(bool)]
    rows = []
    alone = frame[frame["mode"] == "alone"].set_index("position")
    cumulative = frame[frame["mode"] == "cumulative"].set_index("position")
    for position in sorted(set(alone.index) | set(cumulative.index)):
        a = alone.loc[position] if position in alone.index else None
        c = cumulative.loc[position] if position in cumulative.index else None
        first = a if a is not None else c
        share_bounds = ""
        days_bounds = ""
        if a is not None:
            share_bounds = interval(
                100 * a["share_within_target_change_low"],
                100 * a["share_within_target_change_high"],
                0,
                **POINTS,
            )
            days_bounds = interval(a["mean_days_change_low"], a["mean_days_change_high"], 1)
        rows.append(
            {
                "position": int(position),
                "reform": str(first["reform"]),
                "type": str(first["reform_type"]),
                "alone": (
                    f"{signed(a['share_within_target_change'], 0, 100)} {share_bounds}".strip()
                    if a is not None
                    else "–"
                ),
                "alone_days": (
                    f"{signed(a['mean_days_change'], 1)} {days_bounds}".strip()
                    if a is not None
                    else "–"
                ),
                "cumulative": (
                    f"{pct(c['share_within_target'])} "
                    + interval(
                        c["share_within_target_low"],
                        c["share_within_target_high"],
                        percent=True,
                        **SHARE,
                    )
                ).strip()
                if c is not None
                else "–",
                "step": (
                    f"{signed(c['share_within_target_step'], 0, 100)} "
                    + interval(
                        100 * c["share_within_target_step_low"],
                        100 * c["share_within_target_step_high"],
                        0,
                        **POINTS,
                    )
                ).strip()
                if c is not None
                else "–",
                "note": " ".join(
                    dict.fromkeys(str(x["note"]) for x in (a, c) if x is not None and x["note"])
                ),
            }
        )
    return rows


def contribution_metric(frame: pd.DataFrame) -> str:
    """The metric of the contribution figures: ``share_within_target`` or ``mean_days``.

    The share within target, unless no reform moves it by half a point (every case
    misses the target, or every case meets it); then the mean working days.
    """
    columns = [c for c in ("share_within_target_change", "share_within_target_step") if c in frame]
    moved = frame[columns].abs().max().max() if columns else float("nan")
    return "share_within_target" if finite(moved) and moved >= 0.005 else "mean_days"


def tail_tables(drivers: pd.DataFrame, lang: str, top: int = 6) -> dict[str, Any]:
    """The slow tail's largest parts by step and by agency."""
    text = REPORT[lang]
    if len(drivers) == 0:
        return {"steps": [], "agencies": [], "threshold": "–", "cases": 0}
    by_step = (
        drivers.groupby(["step", "agency"], sort=False)
        .agg(
            tail_days=("tail_days", "sum"),
            tail_share=("tail_share", "sum"),
            all_share=("all_share", "sum"),
            step_zh=("step_zh", "first"),
            step_en=("step_en", "first"),
            agency_zh=("agency_zh", "first"),
            agency_en=("agency_en", "first"),
        )
        .sort_values("tail_days", ascending=False)
        .head(top)
    )
    main_kind = (
        drivers.sort_values("tail_days", ascending=False)
        .drop_duplicates(["step", "agency"])
        .set_index(["step", "agency"])["kind"]
    )
    steps = [
        {
            "step": Name(row.step_zh, row.step_en).label(lang),
            "agency": Name(row.agency_zh, row.agency_en).label(lang),
            "tail_days": fmt(row.tail_days),
            "tail_share": pct(row.tail_share),
            "all_share": pct(row.all_share),
            "kind": text[f"{main_kind.get(key, 'handling')}_kind"],
        }
        for key, row in zip(by_step.index, by_step.itertuples(index=False), strict=True)
    ]
    per_agency = drivers.assign(
        one=drivers["agency"].astype(str),
    )
    agencies = (
        per_agency.groupby("one", sort=False)
        .agg(
            tail_days=("tail_days", "sum"),
            tail_share=("tail_share", "sum"),
            all_share=("all_share", "sum"),
            agency_zh=("agency_zh", "first"),
            agency_en=("agency_en", "first"),
        )
        .sort_values("tail_days", ascending=False)
        .head(top)
    )
    return {
        "steps": steps,
        "agencies": [
            {
                "agency": Name(row.agency_zh, row.agency_en).label(lang) or "–",
                "tail_days": fmt(row.tail_days),
                "tail_share": pct(row.tail_share),
                "all_share": pct(row.all_share),
            }
            for row in agencies.itertuples(index=False)
        ],
        "threshold": fmt(drivers["threshold_days"].iloc[0]),
        "cases": int(drivers["tail_cases"].iloc[0]),
    }


# Parts of the critical path that no agency's clock counts: the applicant's corrections and
# the wait before a rework (as in the engine's approval clock).
OFF_CLOCK_KINDS = ("correction", "delay")
PART_KINDS = ("queue", "handling", "waiting", "correction", "delay")


def step_facts(names: Names, variant: str, procedure: str) -> dict[str, dict[str, Any]]:
    """What `target_gap` needs of each step of a variant's procedure, from the saved scenario.

    Its source, its clock flags and its committed limit, as the variant ran it (a
    variant that leaves the procedure as the baseline's has the baseline's steps).
    """
    models = names.data.get("models", {})
    demand = models.get(variant, {}).get("procedures", {}).get(procedure)
    if not isinstance(demand, dict):  # the baseline's, said once
        demand = models.get("baseline", {}).get("procedures", {}).get(procedure)
    steps = demand.get("procedure", {}).get("steps", []) if isinstance(demand, dict) else []
    return {
        str(step["id"]): {
            "source": step.get("source") or "",
            "handling_on_clock": bool(step.get("handling_on_clock", True)),
            "waiting_on_clock": bool(step.get("waiting_on_clock", False)),
            "limit": (step.get("time_limit") or {}).get("days"),
        }
        for step in steps
    }


def _counts_on_clock(kind: str, facts: Mapping[str, Any] | None) -> bool:
    if kind in OFF_CLOCK_KINDS:
        return False
    if kind == "waiting":
        return bool(facts and facts.get("waiting_on_clock"))
    return bool(facts.get("handling_on_clock", True)) if facts else True


def target_gap(
    drivers: pd.DataFrame,
    row: pd.Series,
    facts: Mapping[str, Mapping[str, Any]],
    lang: str,
    top: int = 5,
) -> dict[str, Any] | None:
    """Why a variant's mean misses its procedure's target, from its critical paths.

    The mean time of completed cases on the critical path (``all_days`` of
    `sim.analysis.casepath.tail_drivers`) is split into time on the approval clock (the
    agencies' queue, handling and sign-off) and time off it (the applicant's
    corrections, third parties, expert reviews, public notice: the steps' clock flags).
    When the time on the clock is within the target, the gap is time off the clock and
    the steps with the most of it are named; otherwise the steps with the most time of
    either kind. Steps are added, largest first, until they cover the gap (at most
    ``top``), each with its agency, its parts, its committed limit and its source, so
    that the reader sees which assumptions carry the gap.

    Args:
        drivers: The variant's rows of `tail_drivers` for the procedure.
        row: The variant's summary row for the procedure (mean, target and its unit).
        facts: Step id to its source, clock flags and limit (`step_facts`).
        lang: ``zh`` or ``en``.
        top: The most steps named.

    Returns:
        ``heading``, ``summary``, ``lead``, ``reasons`` (``text``, ``source``) and ``rest``;
        None when the mean meets the target or nothing is known of the path.
    """
    text = GAP[lang]
    unit = str(row.get("target_unit", "working_days"))
    mean = row["mean_calendar_days"] if unit == "calendar_days" else row["mean_days"]
    target = row["target_days"]
    if len(drivers) == 0 or not (finite(mean) and finite(target) and finite(row["mean_days"])):
        return None
    mean, target = float(mean), float(target)
    if mean <= target or mean <= 0:
        return None
    # The path's parts are working days: the target and the gap in working days too.
    per_working_day = float(row["mean_days"]) / mean
    target_working, gap_working = target * per_working_day, (mean - target) * per_working_day
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    for part in drivers.itertuples(index=False):
        days = float(part.all_days)
        if not days > 0:
            continue
        entry = steps.setdefault(
            (str(part.step), str(part.agency)),
            {
                "name": Name(part.step_zh, part.step_en),
                "agency": Name(part.agency_zh, part.agency_en),
                "on": {},
                "off": {},
            },
        )
        side = "on" if _counts_on_clock(str(part.kind), facts.get(str(part.step))) else "off"
        entry[side][str(part.kind)] = entry[side].get(str(part.kind), 0.0) + days
    on_total = sum(sum(e["on"].values()) for e in steps.values())
    off_total = sum(sum(e["off"].values()) for e in steps.values())
    clock_met = on_total <= target_working
    sides = ("off",) if clock_met else ("on", "off")
    ranked = sorted(
        ((sum(sum(e[s].values()) for s in sides), key) for key, e in steps.items()),
        key=lambda pair: -pair[0],
    )
    items, covered = [], 0.0
    for days, key in ranked:
        if covered >= gap_working - 1e-9 or len(items) >= top or days <= 0:
            break
        covered += days
        items.append(_gap_item(steps[key], key[0], sides, days, facts.get(key[0]), lang))
    unit_text = unit_label(unit, lang)
    return {
        "heading": text["heading"],
        "separator": text["separator"],
        "summary": text["summary"].format(
            mean=fmt(mean),
            target=f"{target:g}",
            unit=unit_text,
            gap=f"{fmt(mean - target)} {unit_text}",
            on=fmt(on_total),
            off=fmt(off_total),
        ),
        "lead": text["clock_met" if clock_met else "clock_missed"],
        "reasons": items,
        "rest": text["rest"].format(rest=fmt(gap_working - covered))
        if gap_working - covered >= 0.05
        else "",
    }


def _gap_item(
    entry: dict[str, Any],
    step: str,
    sides: tuple[str, ...],
    days: float,
    facts: Mapping[str, Any] | None,
    lang: str,
) -> dict[str, str]:
    """One step of `target_gap`: its time by kind, on or off the clock, and its source."""
    text, labels = GAP[lang], REPORT[lang]
    parts: dict[str, float] = {}
    for side in sides:
        for kind, value in entry[side].items():
            parts[kind] = parts.get(kind, 0.0) + value
    separator = "、" if lang == "zh" else ", "
    kinds = separator.join(
        f"{labels[f'{kind}_kind']} {fmt(parts[kind])}"
        for kind in PART_KINDS
        if parts.get(kind, 0.0) >= 0.05
    )
    shown = [side for side in sides if entry[side]]
    if len(shown) == 2:
        clock = text["both_clocks"].format(
            on=fmt(sum(entry["on"].values())), off=fmt(sum(entry["off"].values()))
        )
    else:
        clock = text["on_clock" if shown == ["on"] else "off_clock"]
    limit = facts.get("limit") if facts else None
    if finite(limit):
        clock += separator + text["limit"].format(cap=f"{float(limit):g}")
    source = str(facts.get("source", "")) if facts else ""
    return {
        "text": text["item"].format(
            step=entry["name"].label(lang) or step,
            agency=entry["agency"].label(lang) or "–",
            days=fmt(days),
            kinds=kinds or "–",
            clock=clock,
        ),
        "source": text["source"].format(source=source or "–"),
    }


def agency_rows(agencies: pd.DataFrame, names: Names) -> list[dict[str, Any]]:
    """The agency table's rows, formatted."""
    text = REPORT[names.lang]
    rows = []
    for row in agencies.itertuples(index=False):
        staff = row.staff
        rows.append(
            {
                "agency": names.agency(row.agency),
                "variant": names.variant(row.variant),
                "staff": text["unlimited"] if pd.isna(staff) else str(int(staff)),
                "utilisation": (
                    f"{pct(row.utilisation)} "
                    + interval(
                        row.utilisation_low, row.utilisation_high, percent=True, **NONNEGATIVE
                    )
                ).strip()
                if finite(row.utilisation)
                else "–",
                "queue": (
                    f"{fmt(row.mean_queue_days, 2)} "
                    + interval(row.mean_queue_days_low, row.mean_queue_days_high, 2, **NONNEGATIVE)
                ).strip(),
                "p90_queue": fmt(row.p90_queue_days, 2),
                "growth": fmt(row.queue_growth, 2),
                "overloaded": bool(row.overloaded),
                "warning": str(row.warning) if isinstance(row.warning, str) else "",
            }
        )
    return rows
