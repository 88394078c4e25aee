"""The run report: ``report.html`` (self-contained) and ``report.md``.

`write_report` renders two jinja2 templates (``sim/templates``) from one context built
by `build_context`. The HTML embeds every figure as inline SVG with the text drawn as
outlines, carries its own CSS and refers to nothing outside the file, so it opens
offline and shows the same on a machine without a CJK font. Autoescaping is on for the
HTML; the Markdown escapes every value it interpolates (``<``, ``>``, ``&`` as entities,
``|`` for tables), so names from scenario files cannot inject markup in either.

For each procedure the report shows the cycle-time distribution with the target, the
share within target with its interval, the six measures (六减: steps, materials,
certificates, trips, time, fees) with the paired change against the baseline, the
reform contributions (when computed, see `sim.contributions`), a Gantt chart of a
typical case per variant with its critical path (see `sim.casepath` for the method),
and what the slowest 10% of cases spend their time on; then the agencies' utilisation
and queues with the overload warnings. A short plain-language summary comes first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.experiment import RunResult, write_atomically
from sim.model import Name, Scenario

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
    ("p90_days", "p90_days", 1),
    ("mean_clock_days", "mean_clock_days", 1),
    ("share_within_target", "share_within_target", None),
)

TEXT = {
    "zh": {
        "title": "模拟报告",
        "summary": "摘要",
        "run": "运行信息",
        "scenario": "情景",
        "replications": "重复次数",
        "seed": "随机种子",
        "run_id": "运行编号",
        "variants": "方案",
        "reforms": "改革措施",
        "intervals": "区间为 95% 置信区间；变化为与基线的配对差（共同随机数）。",
        "procedure": "事项",
        "target": "目标",
        "working_days": "个工作日",
        "cycle_times": "办理时间分布",
        "cycle_caption": "已办结案件的工作日分布（点：中位数；竖线：90% 分位；虚线：目标）。",
        "share_caption": "在目标工作日内办结的比例（以到达案件为分母），误差线为 95% 置信区间。",
        "measures": "六减指标",
        "measures_caption": "每件平均值；括号内为与基线的配对变化及 95% 区间，加粗表示区间不含 0。",
        "measure": "指标",
        "steps": "环节（个）",
        "materials": "材料（份）",
        "certificates": "证明（件）",
        "trips": "跑动（次）",
        "mean_days": "时间（平均工作日）",
        "fees_cny": "费用（元）",
        "p90_days": "时间（90% 分位工作日）",
        "mean_clock_days": "审批时钟（平均工作日）",
        "share_within_target": "目标内办结比例",
        "contributions": "改革贡献",
        "contributions_caption": (
            "每项改革单独实施对比基线，以及按方案顺序逐项累加（瀑布图中每段为该项在前序改革基础上"
            "的增量）。"
        ),
        "metric_share_within_target": "图为目标内办结比例。",
        "metric_mean_days": "图为平均工作日（各项改革对目标内比例的影响不足半个百分点）。",
        "others": "方案中另有 {n} 项改革不涉及本事项，未列出。",
        "contributions_missing": (
            "未计算（命令行加 --contributions，或向 write_report 传入 "
            "sim.contributions.reform_contributions 的结果）。"
        ),
        "reform": "改革",
        "alone": "单独：目标内比例变化",
        "alone_days": "单独：平均工作日变化",
        "cumulative": "累加后目标内比例",
        "step": "该项增量",
        "note": "说明",
        "step_name": "环节",
        "gantt": "典型案件（中位数案件）",
        "gantt_caption": (
            "颜色区分部门；实色为办理、浅色为排队或等待；阴影表示不计入审批时限；黑框及 ▶ "
            "为关键路径；底部为审批时钟。关键路径：从最后结束的环节起，逐步回溯到结束时刻"
            "恰为其就绪时刻的前序环节（补正后重交回溯到被退回的那次）。"
        ),
        "case": "案件",
        "elapsed": "用时",
        "calendar_days": "自然日",
        "on_clock": "计入审批时限",
        "variant_median": "该方案中位数",
        "tail": "慢尾原因",
        "tail_caption": (
            "最慢 10% "
            "已办结案件关键路径上的时间，按环节和类型（排队、办理、等待、补正）分解；“全部案件”一列供对照。"
        ),
        "threshold": "慢尾门槛",
        "tail_share": "占慢尾时间",
        "all_share": "占全部案件时间",
        "tail_days": "慢尾平均工作日",
        "kind": "主要部分",
        "agency": "部门",
        "agencies": "部门负荷",
        "agencies_caption": "人员利用率（办理工作量 / 人员 × 到达期）与平均排队时间；⚠ 为超负荷。",
        "staff": "人员",
        "unlimited": "不限",
        "utilisation": "利用率",
        "queue": "平均排队（工作日）",
        "p90_queue": "排队 90% 分位",
        "growth": "排队增长倍数",
        "warning": "警告",
        "warnings": "超负荷警告",
        "no_warnings": "无部门超负荷。",
        "baseline": "基线",
        "no_cases": "没有已办结的案件。",
        "figures_in_html": "图表见 report.html。",
        "queue_kind": "排队",
        "handling_kind": "办理",
        "waiting_kind": "等待",
        "correction_kind": "补正",
        "delay_kind": "整改前延迟",
    },
    "en": {
        "title": "Simulation report",
        "summary": "Summary",
        "run": "Run",
        "scenario": "Scenario",
        "replications": "Replications",
        "seed": "Seed",
        "run_id": "Run id",
        "variants": "Variants",
        "reforms": "reforms",
        "intervals": (
            "Intervals are 95% confidence intervals; changes are paired differences against the "
            "baseline (common random numbers)."
        ),
        "procedure": "Procedure",
        "target": "Target",
        "working_days": "working days",
        "cycle_times": "Cycle times",
        "cycle_caption": (
            "Working days of completed cases (dot: median; bar: 90th percentile; dashed: target)."
        ),
        "share_caption": (
            "Share of arrived cases completed within the target, with its 95% confidence interval."
        ),
        "measures": "The six measures",
        "measures_caption": (
            "Mean per case; in brackets the paired change against the baseline with its 95% "
            "interval, bold when the interval excludes 0."
        ),
        "measure": "Measure",
        "steps": "Steps",
        "materials": "Materials",
        "certificates": "Certificates",
        "trips": "Trips",
        "mean_days": "Time (mean working days)",
        "fees_cny": "Fees (CNY)",
        "p90_days": "Time (90th percentile, working days)",
        "mean_clock_days": "Approval clock (mean working days)",
        "share_within_target": "Share within target",
        "contributions": "Reform contributions",
        "contributions_caption": (
            "Each reform alone against the baseline, and added one by one in the package's order "
            "(each bar of the waterfall is what the reform adds given those before it)."
        ),
        "metric_share_within_target": "The figures show the share within target.",
        "metric_mean_days": (
            "The figures show the mean working days (no reform moves the share within target "
            "by half a point)."
        ),
        "others": "{n} other reforms of the package leave this procedure alone and are not listed.",
        "contributions_missing": (
            "Not computed (run with --contributions, or pass the frame of "
            "sim.contributions.reform_contributions to write_report)."
        ),
        "reform": "Reform",
        "alone": "Alone: change in share within target",
        "alone_days": "Alone: change in mean working days",
        "cumulative": "Cumulative share within target",
        "step": "Added by this reform",
        "note": "Note",
        "step_name": "Step",
        "gantt": "A typical case (the median case)",
        "gantt_caption": (
            "Colours are agencies; solid is handling, lighter is queueing or waiting; hatched is "
            "off the approval clock; black edges and ▶ mark the critical path; the bottom line is "
            "the approval clock. Critical path: from the step that ends last, walk back to the "
            "step whose end is this step's ready time (a resubmission walks back to the attempt "
            "that was sent back)."
        ),
        "case": "Case",
        "elapsed": "elapsed",
        "calendar_days": "calendar days",
        "on_clock": "on the approval clock",
        "variant_median": "variant median",
        "tail": "What drives the slow tail",
        "tail_caption": (
            "Time on the critical path of the slowest 10% of completed cases, by step and kind "
            "(queue, handling, waiting, correction); the all-cases column is for comparison."
        ),
        "threshold": "tail threshold",
        "tail_share": "share of tail time",
        "all_share": "share of all cases' time",
        "tail_days": "mean days in the tail",
        "kind": "largest part",
        "agency": "Agency",
        "agencies": "Agency load",
        "agencies_caption": (
            "Staff utilisation (handling work / staff x arrival period) and mean queue; ⚠ marks "
            "an overloaded agency."
        ),
        "staff": "Staff",
        "unlimited": "unlimited",
        "utilisation": "Utilisation",
        "queue": "Mean queue (working days)",
        "p90_queue": "Queue p90",
        "growth": "Queue growth",
        "warning": "Warning",
        "warnings": "Overload warnings",
        "no_warnings": "No agency is overloaded.",
        "baseline": "baseline",
        "no_cases": "No completed cases.",
        "figures_in_html": "The figures are in report.html.",
        "queue_kind": "queue",
        "handling_kind": "handling",
        "waiting_kind": "waiting",
        "correction_kind": "correction",
        "delay_kind": "delay before rework",
    },
}


# --------------------------------------------------------------------------- formatting

SHARE = {"lower": 0.0, "upper": 1.0}
POINTS = {"lower": -100.0, "upper": 100.0}
NONNEGATIVE = {"lower": 0.0}
BASIS = {
    "replications": {
        "zh": "t 区间，以各次重复为单位",
        "en": "t intervals over the replications",
    },
}


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; ``–`` for missing."""
    if not _finite(value):
        return "–"
    return f"{float(value):,.{digits}f}"


def pct(value: Any, digits: int = 0) -> str:
    """A share as a percentage."""
    return f"{100 * float(value):.{digits}f}%" if _finite(value) else "–"


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
    if not (_finite(low) and _finite(high)):
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
    if not _finite(value):
        return "–"
    number = scale * float(value)
    return _minus(f"{number:+,.{digits}f}")


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains CJK characters."""
    return any("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in str(text))


def _label(name: Name | None, lang: str, fallback: str) -> str:
    return name.label(lang) if name is not None else fallback


def variant_title(scenario: Scenario, variant: str, lang: str) -> str:
    """The display title of a variant (``baseline`` translated)."""
    if variant == "baseline":
        return TEXT[lang]["baseline"]
    for declared in scenario.variants:
        if declared.name == variant:
            return declared.title or declared.name
    return variant


def _procedure_name(scenario: Scenario, procedure: str, lang: str) -> str:
    found = scenario.procedure_index.get(procedure)
    return _label(found.name if found else None, lang, procedure)


def _agency_name(scenario: Scenario, agency: str, lang: str) -> str:
    parts = [p for p in str(agency).split("+") if p]
    return "+".join(
        _label(scenario.agency_index[p].name if p in scenario.agency_index else None, lang, p)
        for p in parts
    )


# --------------------------------------------------------------------------- context


# Below this many figures a report draws them in this process (workers cost a start).
MIN_PARALLEL_FIGURES = 8


class _Figures:
    """Figures of a report: `add` notes one and returns a placeholder; `render` draws them.

    Drawing is most of a report's time, and figures do not depend on each other, so with
    several workers they are drawn side by side (`sim.forking`). Each has its own id
    prefix, so the SVG text is the same however it was drawn.
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.jobs: list[tuple] = []

    def add(self, name: str, args: tuple, kwargs: dict) -> str:
        self.jobs.append((name, args, kwargs, self.lang, f"f{len(self.jobs) + 1}-"))
        return _placeholder(len(self.jobs))

    def render(self, context: Any, workers: int | None, progress=None) -> Any:
        from sim.forking import map_forked

        drawn = map_forked(_draw_one, self.jobs, workers, progress, MIN_PARALLEL_FIGURES)
        table = {_placeholder(number): svg for number, svg in enumerate(drawn, start=1)}
        return _substitute(context, table)


def _placeholder(number: int) -> str:
    return f"\x00figure {number}\x00"


def _substitute(value: Any, table: dict[str, str]) -> Any:
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, dict):
        return {key: _substitute(item, table) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, table) for item in value]
    return value


def _draw_one(job: tuple) -> str:
    from sim import plots

    name, args, kwargs, lang, prefix = job
    with plots.deferred_drawing():
        figure = getattr(plots, name)(*args, lang=lang, **kwargs)
    return plots.to_svg(figure, prefix=prefix)


def ensure_tables(result: RunResult) -> RunResult:
    """Fill in the summary, comparison and agency tables if the run has none yet."""
    if len(result.summary) and len(result.agencies):
        return result
    try:
        from sim.experiment import summarize_result

        return summarize_result(result)
    except ImportError:
        from sim import statistics

        result.summary = statistics.summarize(result.cases, result.scenario)
        result.comparison = statistics.compare(result.cases, result.scenario)
        result.agencies = statistics.agency_load(
            result.steps, result.busy, result.scenario, queues=result.queues
        )
        return result


def _comparison_index(comparison: pd.DataFrame) -> pd.DataFrame:
    if len(comparison) == 0:
        return comparison
    return comparison.set_index(["variant", "procedure", "metric"])


def _lookup(frame: pd.DataFrame, key: tuple) -> pd.Series | None:
    if len(frame) == 0 or key not in frame.index:
        return None
    found = frame.loc[key]
    return found.iloc[0] if isinstance(found, pd.DataFrame) else found


def _touches(scenario: Scenario, variant: str, procedure: str) -> bool:
    """Whether a variant's reforms name the procedure or change staff it may use."""
    from sim.contributions import named_procedures

    for declared in scenario.variants:
        if declared.name == variant:
            return any(
                procedure in named_procedures(r.parameters) or r.type == "add_staff"
                for r in declared.reforms
            )
    return False


def _highlight(
    scenario: Scenario,
    procedure: str,
    variant: str,
    base: pd.Series,
    other: pd.Series,
    compared: pd.Series | None,
    lang: str,
) -> str:
    """One plain-language sentence on the share within target of a variant."""
    target = f"{float(base['target_days']):g}"
    name = _procedure_name(scenario, procedure, lang)
    title = variant_title(scenario, variant, lang)
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
    replications = int(other["replications"]) if _finite(other["replications"]) else 0
    difference = ""
    verdict = ""
    if compared is not None and _finite(compared["difference"]):
        bounds = interval(
            100 * float(compared["difference_low"])
            if _finite(compared["difference_low"])
            else None,
            100 * float(compared["difference_high"])
            if _finite(compared["difference_high"])
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
                if _finite(needed)
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
            f"{title}使{name}在 {target} 个工作日内办结的比例从 {before.strip()} "
            f"变为 {after.strip()}{difference}{verdict}；平均用时从 {mean_before} 变为 "
            f"{mean_after} 个工作日。"
        )
    verdict = verdict.replace("; not distinguishable", ", a share not distinguishable", 1)
    return (
        f"{title} brings the share of {name} cases completed within {target} working days from "
        f"{before.strip()} to {after.strip()}{difference}{verdict}; the mean from "
        f"{mean_before} to {mean_after} working days."
    )


def _measure_table(
    summary: pd.DataFrame,
    comparison: pd.DataFrame,
    procedure: str,
    variants: Sequence[str],
    lang: str,
) -> dict[str, Any]:
    text = TEXT[lang]
    level = summary.set_index(["variant", "procedure"])
    rows = []
    for column, metric, digits in MEASURE_ROWS + EXTRA_ROWS:
        cells = []
        for variant in variants:
            found = _lookup(level, (variant, procedure))
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
            compared = _lookup(comparison, (variant, procedure, metric))
            if variant != "baseline" and compared is not None:
                scale = 100.0 if share else 1.0
                places = 0 if share else max(digits, 1)
                unit = (" pp" if lang == "en" else " 个百分点") if share else ""
                bounds = ""
                if _finite(compared["difference_low"]) and _finite(compared["difference_high"]):
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


def _contribution_rows(frame: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
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


def _contribution_metric(frame: pd.DataFrame) -> str:
    """The metric of the contribution figures: ``share_within_target`` or ``mean_days``.

    The share within target, unless no reform moves it by half a point (every case
    misses the target, or every case meets it); then the mean working days.
    """
    columns = [c for c in ("share_within_target_change", "share_within_target_step") if c in frame]
    moved = frame[columns].abs().max().max() if columns else float("nan")
    return "share_within_target" if _finite(moved) and moved >= 0.005 else "mean_days"


def _tail_tables(drivers: pd.DataFrame, lang: str, top: int = 6) -> dict[str, Any]:
    text = TEXT[lang]
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


def _agency_rows(result: RunResult, lang: str) -> list[dict[str, Any]]:
    text = TEXT[lang]
    rows = []
    for row in result.agencies.itertuples(index=False):
        staff = row.staff
        rows.append(
            {
                "agency": _agency_name(result.scenario, row.agency, lang),
                "variant": variant_title(result.scenario, row.variant, lang),
                "staff": text["unlimited"] if pd.isna(staff) else str(int(staff)),
                "utilisation": (
                    f"{pct(row.utilisation)} "
                    + interval(
                        row.utilisation_low, row.utilisation_high, percent=True, **NONNEGATIVE
                    )
                ).strip()
                if _finite(row.utilisation)
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


def build_context(
    result: RunResult,
    lang: str = "zh",
    contributions: pd.DataFrame | None = None,
    figures: bool = True,
    tail: float = 0.1,
    procedures: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> dict[str, Any]:
    """Everything the templates show, as plain values (and SVG text when ``figures``).

    Args:
        result: A run (`sim.experiment.run_experiment`); the summary tables are computed
            if missing.
        lang: ``zh`` or ``en`` (labels, names and text).
        contributions: The frame of `sim.contributions.reform_contributions`, or None.
        figures: Whether to draw the figures (the Markdown needs none).
        tail: The share of slowest cases analysed.
        procedures: Procedure ids to report on, in this order (default: every one run).
        workers: Processes drawing the figures (default: one a core).
        progress: Called with (drawn, total) as figures are drawn.

    Returns:
        The template context.
    """
    from sim import casepath, statistics

    lang = "en" if lang == "en" else "zh"
    text = TEXT[lang]
    result = ensure_tables(result)
    scenario = result.scenario
    variants = [v for v in scenario.variant_names if v in set(result.variants)] + [
        v for v in result.variants if v not in scenario.variant_names
    ]
    render = _Figures(lang)

    def draw(name: str, *args: Any, **kwargs: Any) -> str:
        """The figure ``plots.<name>`` draws (its SVG in the end); empty when figures are off."""
        if not figures:
            return ""
        return render.add(name, args, kwargs)

    def figure_title(variant: str, suffix: str = "") -> str:
        if not figures:
            return ""
        return plots.variant_label(scenario, variant, plots.effective_lang(lang)) + suffix

    colours: dict[str, Any] = {}
    if figures:
        from sim import plots

        colours = plots.agency_colours(a.id for a in scenario.agencies)
    comparison = _comparison_index(result.comparison)
    level = result.summary.set_index(["variant", "procedure"])
    procedures_present = list(dict.fromkeys(result.summary["procedure"]))
    if procedures is not None:
        unknown = [p for p in procedures if p not in procedures_present]
        if unknown:
            raise InputError(
                f"no procedure '{unknown[0]}' in this run; it has: {', '.join(procedures_present)}"
            )
        procedures_present = list(procedures)
    highlights: list[str] = []
    sections = []
    procedures_of = {v: casepath.VariantProcedures.of(scenario, v) for v in variants}
    # Each procedure's rows, split once: filtering the whole tables per figure is slow.
    cases_by_procedure = statistics.groups_by(result.cases, "procedure")
    steps_by_procedure = statistics.groups_by(result.steps, "procedure")
    for procedure in procedures_present:
        cases = cases_by_procedure.get(procedure, result.cases.iloc[:0])
        steps = steps_by_procedure.get(procedure, result.steps.iloc[:0])
        found = scenario.procedure_index.get(procedure)
        base = _lookup(level, ("baseline", procedure))
        section: dict[str, Any] = {
            "id": procedure,
            "name": _procedure_name(scenario, procedure, lang),
            "target": fmt(found.target_days, 1).rstrip("0").rstrip(".") if found else "–",
            "target_source": found.target_source if found else "",
            "highlights": [],
        }
        best: tuple[float, str] | None = None
        for variant in variants[1:]:
            other = _lookup(level, (variant, procedure))
            if base is None or other is None or not _touches(scenario, variant, procedure):
                continue
            sentence = _highlight(
                scenario,
                procedure,
                variant,
                base,
                other,
                _lookup(comparison, (variant, procedure, "share_within_target")),
                lang,
            )
            section["highlights"].append(sentence)
            gain = float(base["mean_days"]) - float(other["mean_days"])
            if _finite(gain) and (best is None or gain > best[0]):
                best = (gain, sentence)
        # The summary at the top: per procedure, the variant that cuts the mean the most.
        if best is not None:
            highlights.append(best[1])
        section["variants"] = [variant_title(scenario, v, lang) for v in variants]
        section["measures"] = _measure_table(result.summary, comparison, procedure, variants, lang)
        section["cycle_svg"] = draw("plot_cycle_times", cases, procedure, scenario, variants)
        section["share_svg"] = draw("plot_share_within_target", result.summary, procedure, scenario)
        # Reform contributions.
        section["contributions"] = None
        if contributions is not None and len(contributions):
            rows = contributions[contributions["procedure"] == procedure]
            if len(rows):
                package = str(rows["variant"].iloc[0])
                listed = _contribution_rows(rows, lang)
                total = rows["position"].nunique()
                entry = {
                    "package": variant_title(scenario, package, lang),
                    "rows": listed,
                    "others": total - len(listed),
                    "metric": text[f"metric_{_contribution_metric(rows)}"],
                    "alone_svg": draw(
                        "plot_reforms_alone",
                        rows,
                        procedure,
                        scenario,
                        metric=_contribution_metric(rows),
                    ),
                    "waterfall_svg": draw(
                        "plot_waterfall",
                        rows,
                        procedure,
                        scenario,
                        metric=_contribution_metric(rows),
                    ),
                }
                section["contributions"] = entry
        # The median case.
        chosen = casepath.median_case(cases, procedure, variants, 0, scenario.horizon.warmup_days)
        gantts = []
        for variant in variants:
            case_id = chosen.get(variant)
            if case_id is None:
                continue
            case = cases[
                (cases["replication"] == 0)
                & (cases["variant"] == variant)
                & (cases["case_id"] == case_id)
            ].iloc[0]
            completed = cases[
                (cases["replication"] == 0)
                & (cases["variant"] == variant)
                & (cases["procedure"] == procedure)
                & (cases["status"] == "completed")
            ]
            entry = {
                "variant": variant_title(scenario, variant, lang),
                "case_id": case_id,
                "elapsed": fmt(case["elapsed_working_days"]),
                "calendar": fmt(case["elapsed_calendar_days"]),
                "clock": fmt(case["approval_clock_days"]),
                "median": fmt(completed["elapsed_working_days"].median()),
                "svg": draw(
                    "plot_gantt",
                    casepath.case_timeline(steps, case, scenario, procedures_of[variant])
                    if figures
                    else None,
                    title=figure_title(variant, f" · {case_id}"),
                    colours=colours,
                ),
            }
            gantts.append(entry)
        section["gantts"] = gantts
        # The slow tail.
        tails = []
        for variant in variants:
            drivers = casepath.tail_drivers(
                cases,
                steps,
                scenario,
                procedure,
                variant,
                tail,
                procedures_of[variant],
            )
            if len(drivers) == 0:
                continue
            entry = {
                "variant": variant_title(scenario, variant, lang),
                **_tail_tables(drivers, lang),
                "svg": draw("plot_tail_drivers", drivers, title=figure_title(variant)),
            }
            tails.append(entry)
        section["tails"] = tails
        sections.append(section)
    agencies = {"rows": _agency_rows(result, lang)}
    agencies["warnings"] = [
        f"{row['variant']}: {row['warning']}" for row in agencies["rows"] if row["overloaded"]
    ]
    agencies["utilisation_svg"] = agencies["queue_svg"] = ""
    if len(result.agencies):
        agencies["utilisation_svg"] = draw("plot_agency_utilisation", result.agencies, scenario)
        agencies["queue_svg"] = draw("plot_agency_queues", result.agencies, scenario)
    basis = [
        BASIS.get(b, {}).get(lang, b)
        for b in sorted(set(result.summary["interval_basis"].dropna().astype(str)))
    ]
    context = {
        "lang": lang,
        "t": text,
        "title": scenario.title or scenario.name,
        "scenario": scenario.name,
        "file": Path(scenario.file).name if scenario.file else "",
        "replications": result.replications,
        "seed": result.seed,
        "run_id": result.run_id,
        "interval_basis": "; ".join(basis),
        "variants": [
            {
                "name": v,
                "title": variant_title(scenario, v, lang),
                "reforms": [
                    r.label
                    for declared in scenario.variants
                    if declared.name == v
                    for r in declared.reforms
                ],
            }
            for v in variants
        ],
        "highlights": highlights,
        "warnings": agencies["warnings"],
        "procedures": sections,
        "agencies": agencies,
    }
    return render.render(context, workers, progress) if figures else context


# --------------------------------------------------------------------------- rendering


def _md_escape(value: Any) -> Any:
    """Escape a value for Markdown: HTML-significant characters and table pipes."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _environment(markdown: bool):
    import jinja2

    loader = jinja2.PackageLoader("sim", "templates")
    if markdown:
        return jinja2.Environment(
            loader=loader,
            autoescape=False,
            finalize=_md_escape,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(context: dict[str, Any]) -> str:
    """The HTML report from a `build_context` context (SVG embedded as is)."""
    from markupsafe import Markup

    context = dict(context)
    context["svg"] = lambda text: Markup(text or "")
    return _environment(False).get_template("report.html.j2").render(**context)


def render_markdown(context: dict[str, Any]) -> str:
    """The Markdown report from a `build_context` context."""
    return _environment(True).get_template("report.md.j2").render(**context)


def write_report(
    result: RunResult,
    output: Path,
    lang: str = "zh",
    contributions: pd.DataFrame | None = None,
    procedures: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> list[Path]:
    """Write ``report.html`` and ``report.md`` into the folder ``output``, each atomically.

    Args:
        result: The run (summary tables are computed if missing).
        output: The folder (created if needed).
        lang: ``zh`` or ``en``: labels, names and text.
        contributions: Reform contributions (`sim.contributions.reform_contributions`),
            or None to leave that part out.
        procedures: Procedure ids to report on (default: every one run).
        workers: Processes drawing the figures (default: one a core).
        progress: Called with (drawn, total) as figures are drawn.

    Returns:
        The files written.

    Raises:
        InputError: When ``procedures`` names a procedure the run does not have.
    """
    output = Path(output)
    context = build_context(
        result,
        lang=lang,
        contributions=contributions,
        figures=True,
        procedures=procedures,
        workers=workers,
        progress=progress,
    )
    html = render_html(context)
    markdown = render_markdown(context)
    written = []
    for name, body in (("report.html", html), ("report.md", markdown)):
        path = output / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    return written
