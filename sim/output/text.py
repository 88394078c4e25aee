"""Every fixed text of the outputs, in Chinese and English, and the few rules of CJK text.

The report, the figures and the command line each take their labels from a table here
(`REPORT`, `FIGURES`, `SCHEDULE`), keyed by ``zh`` and ``en``. `has_cjk`, `width` and
`wrap` know that a CJK character takes two columns and may break a line anywhere.
"""

from __future__ import annotations

import re

REPORT = {
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
        "fixed_times": "固定时间计法：每个事项只有一条路径，没有置信区间，也不计人员利用率。",
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
        "mean_calendar_days": "时间（平均自然日）",
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
            "sim.analysis.contributions.reform_contributions 的结果）。"
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
        "fixed_times": (
            "Fixed times: one path a procedure, so no confidence intervals and no staff "
            "utilisation."
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
        "mean_calendar_days": "Time (mean calendar days)",
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
            "sim.analysis.contributions.reform_contributions to write_report)."
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


BASIS = {
    "replications": {
        "zh": "t 区间，以各次重复为单位",
        "en": "t intervals over the replications",
    },
    "fixed times: one path, no interval": {
        "zh": "固定时间：一条路径，无区间",
        "en": "fixed times: one path, no interval",
    },
}


FIGURES = {
    "zh": {
        "working_days": "工作日",
        "days_from_arrival": "自申请起的工作日",
        "target": "目标 {target:g} 个工作日",
        "target_calendar_days": "目标 {target:g} 个自然日",
        "share_within": "在目标内办结的比例",
        "median": "中位数",
        "p90": "90% 分位",
        "baseline": "基线",
        "queue": "排队",
        "handling": "办理",
        "waiting": "等待（公示、评审、内部流转）",
        "correction": "申请人补正",
        "delay": "承诺/核查后整改前",
        "on_clock": "计入审批时限",
        "off_clock": "不计入审批时限（阴影）",
        "critical": "关键路径",
        "clock": "审批时钟",
        "alone": "单项改革对比基线的变化",
        "waterfall": "按方案顺序逐项累加",
        "change_share": "在目标内比例的变化（百分点）",
        "change_mean_days": "平均工作日的变化",
        "share_points": "在目标内比例（%）",
        "mean_days": "平均工作日",
        "tail_days": "最慢 10% 案件平均在关键路径上的工作日",
        "utilisation": "人员利用率",
        "queue_days": "平均排队工作日",
        "p90_queue": "90% 分位",
        "overloaded": "超负荷",
        "package": "整体方案",
        "other_reforms": "其他改革",
        "no_data": "无数据",
    },
    "en": {
        "working_days": "working days",
        "days_from_arrival": "working days from application",
        "target": "target {target:g} working days",
        "target_calendar_days": "target {target:g} calendar days",
        "share_within": "share completed within target",
        "median": "median",
        "p90": "90th percentile",
        "baseline": "baseline",
        "queue": "queue",
        "handling": "handling",
        "waiting": "waiting (notice, review, sign-off)",
        "correction": "applicant's correction",
        "delay": "delay before rework",
        "on_clock": "on the approval clock",
        "off_clock": "off the approval clock (hatched)",
        "critical": "critical path",
        "clock": "approval clock",
        "alone": "each reform alone against the baseline",
        "waterfall": "cumulative, in the package's order",
        "change_share": "change in share within target (points)",
        "change_mean_days": "change in mean working days",
        "share_points": "share within target (%)",
        "mean_days": "mean working days",
        "tail_days": "working days on the critical path, mean over the slowest 10%",
        "utilisation": "staff utilisation",
        "queue_days": "mean queue (working days)",
        "p90_queue": "90th percentile",
        "overloaded": "overloaded",
        "package": "package",
        "other_reforms": "other reforms",
        "no_data": "no data",
    },
}

SCHEDULE = {
    "zh": {
        "title": "关键路径",
        "cn": "承诺时限计法（工作日）",
        "db": "世界银行营商环境报告计法（自然日）",
        "header": ("序号", "环节", "开始", "结束", "用时"),
        "total": "合计：{wd:g} 个工作日",
        "total_db": "合计：{cd:g} 个自然日（{wd:g} 个工作日）",
        "calendar": "（{cd:g} 个自然日，{start} 至 {end}）",
        "dates": "（{start} 至 {end}）",
        "options": "规则：{rules}",
        "minimum_one_day": "每个环节至少1天",
        "online_half_day": "全程网办环节计半天",
        "consecutive_starts": "可并行的环节依次隔日开始",
        "conditional": "含有条件的环节（{steps}）已计入",
        "conditional_dropped": "有条件的环节（{steps}）未计入",
        "not_a_procedure": "不计为程序的环节（{steps}）计0天",
        "days": "工作日",
    },
    "en": {
        "title": "Critical path",
        "cn": "committed times (working days)",
        "db": "Doing Business method (calendar days)",
        "header": ("#", "step", "start", "end", "days"),
        "total": "Total: {wd:g} working days",
        "total_db": "Total: {cd:g} calendar days ({wd:g} working days)",
        "calendar": " ({cd:g} calendar days, {start} to {end})",
        "dates": " ({start} to {end})",
        "options": "Rules: {rules}",
        "minimum_one_day": "at least one day a step",
        "online_half_day": "half a day for a step done fully online",
        "consecutive_starts": "simultaneous steps start on consecutive days",
        "conditional": "steps with conditions ({steps}) included",
        "conditional_dropped": "steps with conditions ({steps}) left out",
        "not_a_procedure": "steps that are no procedure ({steps}) take no time",
        "days": "working days",
    },
}


CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002ffff]")


UNITS = {
    "zh": {"working_days": "个工作日", "calendar_days": "个自然日"},
    "en": {"working_days": "working days", "calendar_days": "calendar days"},
}


def variant_title(scenario, variant: str, lang: str) -> str:
    """The display title of a variant in ``lang`` (``baseline`` translated)."""
    if variant == "baseline":
        return REPORT["zh" if lang == "zh" else "en"]["baseline"]
    for declared in scenario.variants:
        if declared.name == variant:
            return declared.title.label(lang) or declared.name
    return variant


def unit_label(unit: str, lang: str) -> str:
    """``working_days`` or ``calendar_days`` as words after a number (``个工作日``)."""
    return UNITS["zh" if lang == "zh" else "en"][unit]


def has_cjk(text: object) -> bool:
    """Whether ``text`` contains CJK characters (Chinese, Japanese, Korean, full-width)."""
    return bool(CJK.search(str(text)))


def width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if has_cjk(char) else 1 for char in text)


def pad(text: str, columns: int) -> str:
    """``text`` padded with spaces to ``columns`` display columns."""
    return text + " " * (columns - width(text))


_TOKENS = re.compile(r"[\u2e80-\u9fff\uf900-\uffef]|[^\s\u2e80-\u9fff\uf900-\uffef]+|\s+")


def wrap(label: str, columns: int = 28, lines: int = 3) -> str:
    """``label`` broken into lines of about ``columns`` columns (a CJK character counts 2).

    Latin words are kept whole; CJK text may break between any two characters. Past
    ``lines`` lines the rest is cut with an ellipsis.
    """
    out: list[str] = []
    current, used = "", 0
    for token in _TOKENS.findall(str(label)):
        size = width(token)
        if token.isspace():
            if current:
                current, used = current + " ", used + 1
            continue
        if used + size > columns and current.strip():
            out.append(current.rstrip())
            current, used = "", 0
        current, used = current + token, used + size
    if current.strip():
        out.append(current.rstrip())
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1] + "…"
    return "\n".join(out) or str(label)
