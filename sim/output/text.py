"""Every fixed text of the outputs, in Chinese and English, and the few rules of CJK text.

The report, the figures and the command line each take their labels from a table here
(`REPORT`, `FIGURES`, `SCHEDULE`, `FIT` for the fit report), keyed by ``zh`` and
``en``. `has_cjk`, `width` and `wrap` know that a CJK character takes two columns and
may break a line anywhere.
"""

from __future__ import annotations

import re

REPORT = {
    "zh": {
        "title": "模拟报告",
        "overview": "一页摘要",
        "overview_caption": (
            "每个事项在目标工作日内办结的比例及其 95% 区间（下方为平均工作日），括号外为与基线的"
            "配对变化（加粗表示可与基线区分）；绿色为平均用时缩短最多的方案。每行下面是最重要的一句话。"
        ),
        "details": "各事项详情",
        "points": "个百分点",
        "mean_short": "平均",
        "box_legend": "25%–75% 分位（线：5%–95%）",
        "open_all": "全部展开",
        "close_all": "全部收起",
        "variant_shown": "显示的方案：",
        "engine": "引擎",
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
            "已办结案件关键路径上的时间，按环节和类型（排队、办理、等待、补正）分解；“全部案件”一列"
            "供对照。"
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
        "overview": "Summary",
        "overview_caption": (
            "Share of each procedure's cases completed within its target, with its 95% interval "
            "(below it the mean working days) and the paired change against the baseline (bold: "
            "distinguishable from it); green marks the variant that cuts the mean the most. Under "
            "each row, the one sentence that matters."
        ),
        "details": "Procedure by procedure",
        "points": "points",
        "mean_short": "mean",
        "box_legend": "25th-75th percentile (line: 5th-95th)",
        "open_all": "Open all",
        "close_all": "Close all",
        "variant_shown": "Variant shown: ",
        "engine": "engine",
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
        "fit_records": "办件数据（留出）",
        "fit_simulated": "模拟",
        "fit_naive": "朴素预测（拟合期）",
        "fit_share_cases": "案件累计比例",
        "fit_cycle_working": "办理时间（工作日）",
        "fit_cycle_calendar": "办理时间（日历日）",
        "fit_step_days": "自就绪至办结的工作日（中位数，95% 区间）",
        "fit_week": "周",
        "fit_cases_week": "每周到达件数",
        "fit_cases_so_far": "累计到达件数",
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
        "fit_records": "records (held back)",
        "fit_simulated": "simulated",
        "fit_naive": "naive (training period)",
        "fit_share_cases": "share of cases",
        "fit_cycle_working": "cycle time (working days)",
        "fit_cycle_calendar": "cycle time (calendar days)",
        "fit_step_days": "working days from ready to done (median, 95% interval)",
        "fit_week": "week",
        "fit_cases_week": "cases arriving a week",
        "fit_cases_so_far": "cases arrived so far",
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


FIT = {
    "zh": {
        "title": "拟合报告",
        "records": "办件数据",
        "summary": "摘要",
        "period": "时期",
        "training": "拟合用",
        "held_back": "留出检验",
        "calendar": "日历",
        "replications": "模拟重复次数",
        "seed": "随机种子",
        "files": "生成的文件",
        "findings": "数据检查",
        "finding": "项目",
        "count": "数量",
        "notes": "说明",
        "cycle_times": "办理时间",
        "cycle_caption": (
            "留出案件（已办结）与拟合模型模拟的同期案件、以及朴素预测（拟合期本身的办理时间）"
            "的经验分布函数。"
        ),
        "measure": "指标",
        "records_column": "办件数据（留出）",
        "simulated_column": "模拟",
        "naive_column": "朴素预测",
        "noise": "抽样噪声上限",
        "verdict": "判断",
        "good": "吻合",
        "poor": "较差",
        "mean": "平均值",
        "median": "中位数",
        "p90": "90% 分位",
        "share_within_target": "目标内办结比例",
        "w1": "W1 距离",
        "ks": "KS 统计量",
        "working_days": "工作日",
        "calendar_days": "日历日",
        "intervals": (
            "区间为 95%：办件数据与朴素预测按案件计算，模拟按各次重复计算；W1 与 KS 的区间为对留出"
            "案件"
            "的自助法区间，噪声上限为同样数量的模拟案件与模拟整体之间距离的 95% 分位。"
        ),
        "steps": "各环节",
        "steps_caption": "自环节就绪至最后办结的工作日（中位数及 95% 区间）与退回补正比例。",
        "step": "环节",
        "cases": "件数",
        "send_back": "退回比例",
        "share": "办理该环节的案件比例",
        "arrivals": "每周到达",
        "arrivals_caption": (
            "留出期内每周到达（首个事件）的案件数：办件数据、模拟平均（95% 区间）、朴素预测；图为累"
            "计数。"
        ),
        "profile": "到达的星期与月份分布（拟合期）",
        "profile_test": "卡方检验 p 值：星期 {weekday}，月份 {month}。模拟采用恒定到达率。",
        "week": "周（周一）",
        "rate": "每工作日件数",
        "fitted": "拟合的数值",
        "fitted_caption": "每个拟合值及其来源、方法与区间（亦写在生成的文件中）。",
        "what": "对象",
        "quantity": "数值",
        "value": "拟合结果",
        "method": "方法",
        "structure": "结构",
        "structure_caption": "环节、前置环节与适用条件；直接跟随关系（前 15 项）。",
        "after": "前置环节",
        "when": "条件",
        "dfg": "直接跟随",
        "from": "从",
        "to": "到",
        "parallel": "并行",
        "sentence_poor_measure": "拟合较差：模拟的办理时间{label}为 {sim}，办件数据为 {rec}。",
        "sentence_w1": (
            "模拟的办理时间比朴素预测{closer}留出案件（W1 {sim} 对 {naive} 个工作日；仅抽样噪声可"
            "达 {noise}）。"
        ),
        "closer": "更接近",
        "not_closer": "并不更接近",
        "sentence_poor_w1": (
            "拟合较差：模拟的办理时间分布与办件数据的差异超出抽样噪声"
            "（W1 {sim} > {noise}，KS p={p}）。"
        ),
        "sentence_poor_step": (
            "环节“{step}”拟合较差：自就绪至办结的中位数模拟为 {sim}，办件数据为 {rec}。"
        ),
        "sentence_poor_share": (
            "环节“{step}”拟合较差：办理该环节的案件比例模拟为 {sim}，办件数据为 {rec}。"
        ),
        "sentence_poor_send_back": "环节“{step}”拟合较差：退回比例模拟为 {sim}，办件数据为 {rec}。",
        "sentence_poor_arrivals": (
            "拟合较差：留出期内到达 {rec} 件，模拟为 {sim} 件（拟合到达率来自拟合期）。"
        ),
        "sentence_all_good": "所比较的指标均未超出其区间或抽样噪声。",
        "sentence_nothing": "没有已办结的留出案件或同期模拟案件，无法比较。",
        "finding_rows": "读取的行",
        "finding_duplicate_rows": "重复的行（已去除）",
        "finding_running_steps": "只有开始没有结束的环节（导出时仍在办理）",
        "finding_ignored_events": "忽略的其他生命周期事件",
        "finding_cases": "时期内的案件",
        "finding_training_cases": "拟合用案件",
        "finding_test_cases": "留出案件",
        "finding_open_cases": "导出时仍未办结的案件",
        "finding_order_deviations": "与结构次序不符的环节执行",
        "finding_folded_route_cases": "归入相近路径的少见路径案件",
        "finding_steps_left_out": "未建模的环节",
        "finding_records_compared": "比较的留出案件（已办结）",
        "finding_records_open": "未办结的留出案件",
        "finding_simulated_compared": "比较的模拟案件（已办结）",
        "finding_simulated_open": "导出时点仍未办结的模拟案件",
        "finding_replications": "模拟重复次数",
    },
    "en": {
        "title": "Fit report",
        "records": "Records",
        "summary": "Summary",
        "period": "period",
        "training": "fitted on",
        "held_back": "held back",
        "calendar": "calendar",
        "replications": "replications",
        "seed": "seed",
        "files": "Files written",
        "findings": "Checks of the records",
        "finding": "what",
        "count": "count",
        "notes": "Notes",
        "cycle_times": "Cycle times",
        "cycle_caption": (
            "Empirical distribution functions of the held-back (closed) cases, of the cases the "
            "fitted model simulates for the same period, and of the naive predictor (the training "
            "period's own cycle times)."
        ),
        "measure": "measure",
        "records_column": "records (held back)",
        "simulated_column": "simulated",
        "naive_column": "naive predictor",
        "noise": "sampling noise up to",
        "verdict": "verdict",
        "good": "good",
        "poor": "poor",
        "mean": "mean",
        "median": "median",
        "p90": "90th percentile",
        "share_within_target": "share within target",
        "w1": "W1 distance",
        "ks": "KS statistic",
        "working_days": "working days",
        "calendar_days": "calendar days",
        "intervals": (
            "Intervals are 95%: records and naive predictor over cases, simulation over "
            "replications; for W1 and KS a bootstrap over the held-back cases, and the noise "
            "floor is the 95th percentile of the distance between as many simulated cases and the "
            "whole simulation."
        ),
        "steps": "Steps",
        "steps_caption": (
            "Working days from a step being ready to its last end (median and 95% interval), "
            "and the share of submissions sent back."
        ),
        "step": "step",
        "cases": "cases",
        "send_back": "sent back",
        "share": "share of cases taking it",
        "arrivals": "Arrivals per week",
        "arrivals_caption": (
            "Cases arriving (first event) each week of the held-back period: records, simulated "
            "mean (95% interval), naive predictor; the figure shows them cumulated."
        ),
        "profile": "Arrivals by weekday and month (training period)",
        "profile_test": (
            "Chi-square p-values: weekday {weekday}, month {month}. The simulation draws a "
            "constant rate."
        ),
        "week": "week (Monday)",
        "rate": "cases a working day",
        "fitted": "Fitted numbers",
        "fitted_caption": (
            "Every fitted number with its source, method and interval (also in the files written)."
        ),
        "what": "what",
        "quantity": "number",
        "value": "fitted",
        "method": "method",
        "structure": "Structure",
        "structure_caption": (
            "Steps, what they wait on and when they apply; directly-follows pairs (top 15)."
        ),
        "after": "waits on",
        "when": "applies when",
        "dfg": "directly follows",
        "from": "from",
        "to": "to",
        "parallel": "side by side",
        "sentence_poor_measure": (
            "Poor fit: the simulated {label} of the cycle time is {sim}, the records' {rec}."
        ),
        "sentence_w1": (
            "The simulated cycle times are {closer} the held-back records than the naive predictor "
            "(W1 {sim} against {naive} working days; sampling alone gives up to {noise})."
        ),
        "closer": "closer to",
        "not_closer": "no closer to",
        "sentence_poor_w1": (
            "Poor fit: the simulated cycle-time distribution differs from the records' beyond "
            "sampling noise (W1 {sim} > {noise}, KS p={p})."
        ),
        "sentence_poor_step": (
            "Poor fit at step {step}: median time from ready to done {sim} simulated against "
            "{rec} in the records."
        ),
        "sentence_poor_share": (
            "Poor fit at step {step}: {sim} of the simulated cases take it, {rec} of the records'."
        ),
        "sentence_poor_send_back": (
            "Poor fit at step {step}: send-back rate {sim} simulated against {rec} in the records."
        ),
        "sentence_poor_arrivals": (
            "Poor fit: {rec} cases arrived in the held-back period, the simulation has {sim} "
            "(the fitted rate is the training period's)."
        ),
        "sentence_all_good": "No figure compared is off beyond its intervals or sampling noise.",
        "sentence_nothing": (
            "No closed held-back case, or no simulated case in the held-back period: nothing to "
            "compare."
        ),
        "finding_rows": "rows read",
        "finding_duplicate_rows": "duplicate rows (dropped)",
        "finding_running_steps": "steps started but not ended (still running at the export)",
        "finding_ignored_events": "events of other lifecycle transitions (ignored)",
        "finding_cases": "cases in the period",
        "finding_training_cases": "cases fitted on",
        "finding_test_cases": "cases held back",
        "finding_open_cases": "cases still open at the end of the export",
        "finding_order_deviations": "step executions out of the structure's order",
        "finding_folded_route_cases": "cases of rare routes folded into a near one",
        "finding_steps_left_out": "steps not modelled",
        "finding_records_compared": "held-back cases compared (closed)",
        "finding_records_open": "held-back cases still open",
        "finding_simulated_compared": "simulated cases compared (closed)",
        "finding_simulated_open": "simulated cases open at the export's end",
        "finding_replications": "replications",
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


GAP = {
    "zh": {
        "heading": "未达目标的原因：",
        "separator": "；",
        "summary": (
            "平均用时 {mean} {unit}，比目标 {target} {unit}多 {gap}。关键路径上平均 {on} "
            "个工作日计入审批时限（各部门的时间），{off} 个工作日不计入（申请人、银行、刻章店、"
            "中介、专家评审、公示等）。"
        ),
        "clock_met": "计入审批时限的部分在目标之内，差距来自不计入审批时限的时间：",
        "clock_missed": "计入审批时限的部分也超出目标，差距来自：",
        "item": "{step}（{agency}）：平均 {days} 个工作日（{kinds}；{clock}）",
        "limit": "承诺时限 {cap} 个工作日",
        "source": "依据：{source}",
        "rest": "其余 {rest} 个工作日分散在其他环节。",
        "on_clock": "计入审批时限",
        "off_clock": "不计入审批时限",
        "both_clocks": "计入审批时限 {on}、不计入 {off}",
    },
    "en": {
        "heading": "Why the target is missed.",
        "separator": "; ",
        "summary": (
            "The mean, {mean} {unit}, is {gap} over the target of {target} {unit}. On the "
            "critical path {on} working days on average are on the approval clock (the "
            "agencies' time) and {off} off it (the applicant, banks, engraving shops, "
            "consultants, expert reviews, public notice)."
        ),
        "clock_met": (
            "The time on the approval clock is within the target; the gap is time off the clock:"
        ),
        "clock_missed": "The time on the approval clock exceeds the target too; the gap is:",
        "item": "{step} ({agency}): {days} working days on average ({kinds}; {clock})",
        "limit": "committed limit {cap} working days",
        "source": "source: {source}",
        "rest": "The remaining {rest} working days are spread over other steps.",
        "on_clock": "on the approval clock",
        "off_clock": "off the approval clock",
        "both_clocks": "{on} on the approval clock, {off} off it",
    },
}
"""The report's explanation of a missed target (`sim.output.sections.target_gap`)."""


WORKBOOK = {
    "zh": {
        "summary": "摘要",
        "measures": "六减指标",
        "comparison": "配对比较",
        "agencies": "部门负荷",
    },
    "en": {
        "summary": "summary",
        "measures": "six measures",
        "comparison": "comparison",
        "agencies": "agencies",
    },
}

# Column headers of the tables in results.xlsx (the CSV files keep the ids).
COLUMNS = {
    "zh": {
        "variant": "方案",
        "variant_name": "方案名称",
        "procedure": "事项",
        "procedure_name": "事项名称",
        "agency": "部门",
        "agency_name": "部门名称",
        "target_days": "目标（工作日）",
        "replications": "重复次数",
        "interval_basis": "区间依据",
        "arrived": "到达件数",
        "completed": "办结件数",
        "withdrawn": "撤回件数",
        "open": "未办结件数",
        "mean_days": "平均工作日",
        "mean_days_low": "平均工作日 95% 下限",
        "mean_days_high": "平均工作日 95% 上限",
        "median_days": "中位数工作日",
        "median_days_low": "中位数 95% 下限",
        "median_days_high": "中位数 95% 上限",
        "p90_days": "90% 分位工作日",
        "p90_days_low": "90% 分位 95% 下限",
        "p90_days_high": "90% 分位 95% 上限",
        "share_within_target": "目标内办结比例",
        "share_within_target_low": "目标内比例 95% 下限",
        "share_within_target_high": "目标内比例 95% 上限",
        "mean_calendar_days": "平均自然日",
        "mean_clock_days": "审批时钟平均工作日",
        "mean_clock_days_low": "审批时钟 95% 下限",
        "mean_clock_days_high": "审批时钟 95% 上限",
        "share_within_target_clock": "审批时钟目标内比例",
        "share_within_target_clock_low": "审批时钟目标内比例 95% 下限",
        "share_within_target_clock_high": "审批时钟目标内比例 95% 上限",
        "steps": "环节（个）",
        "materials": "材料（份）",
        "certificates": "证明（件）",
        "trips": "跑动（次）",
        "fees_cny": "费用（元）",
        "metric": "指标",
        "baseline_value": "基线值",
        "variant_value": "方案值",
        "difference": "配对差",
        "difference_low": "配对差 95% 下限",
        "difference_high": "配对差 95% 上限",
        "unpaired_low": "非配对 95% 下限",
        "unpaired_high": "非配对 95% 上限",
        "distinguishable": "可与基线区分",
        "replications_needed": "所需重复次数",
        "note": "说明",
        "staff": "人员",
        "utilisation": "利用率",
        "utilisation_low": "利用率 95% 下限",
        "utilisation_high": "利用率 95% 上限",
        "mean_queue_days": "平均排队工作日",
        "mean_queue_days_low": "平均排队 95% 下限",
        "mean_queue_days_high": "平均排队 95% 上限",
        "p90_queue_days": "排队 90% 分位",
        "queue_growth": "排队增长倍数",
        "overloaded": "超负荷",
        "warning": "警告",
        "steps_change": "环节变化",
        "materials_change": "材料变化",
        "certificates_change": "证明变化",
        "trips_change": "跑动变化",
        "mean_days_change": "平均工作日变化",
        "fees_cny_change": "费用变化（元）",
        "share_change_pp": "目标内比例变化（百分点）",
    },
    "en": {
        "variant": "variant",
        "variant_name": "variant name",
        "procedure": "procedure",
        "procedure_name": "procedure name",
        "agency": "agency",
        "agency_name": "agency name",
        "target_days": "target (working days)",
        "replications": "replications",
        "interval_basis": "interval basis",
        "arrived": "arrived",
        "completed": "completed",
        "withdrawn": "withdrawn",
        "open": "open",
        "mean_days": "mean working days",
        "mean_days_low": "mean, 95% low",
        "mean_days_high": "mean, 95% high",
        "median_days": "median working days",
        "median_days_low": "median, 95% low",
        "median_days_high": "median, 95% high",
        "p90_days": "90th percentile working days",
        "p90_days_low": "90th percentile, 95% low",
        "p90_days_high": "90th percentile, 95% high",
        "share_within_target": "share within target",
        "share_within_target_low": "share within target, 95% low",
        "share_within_target_high": "share within target, 95% high",
        "mean_calendar_days": "mean calendar days",
        "mean_clock_days": "mean approval-clock working days",
        "mean_clock_days_low": "approval clock, 95% low",
        "mean_clock_days_high": "approval clock, 95% high",
        "share_within_target_clock": "share within target (approval clock)",
        "share_within_target_clock_low": "share within target (clock), 95% low",
        "share_within_target_clock_high": "share within target (clock), 95% high",
        "steps": "steps",
        "materials": "materials",
        "certificates": "certificates",
        "trips": "trips",
        "fees_cny": "fees (CNY)",
        "metric": "metric",
        "baseline_value": "baseline value",
        "variant_value": "variant value",
        "difference": "paired difference",
        "difference_low": "paired difference, 95% low",
        "difference_high": "paired difference, 95% high",
        "unpaired_low": "unpaired, 95% low",
        "unpaired_high": "unpaired, 95% high",
        "distinguishable": "distinguishable from baseline",
        "replications_needed": "replications needed",
        "note": "note",
        "staff": "staff",
        "utilisation": "utilisation",
        "utilisation_low": "utilisation, 95% low",
        "utilisation_high": "utilisation, 95% high",
        "mean_queue_days": "mean queue (working days)",
        "mean_queue_days_low": "mean queue, 95% low",
        "mean_queue_days_high": "mean queue, 95% high",
        "p90_queue_days": "queue, 90th percentile",
        "queue_growth": "queue growth",
        "overloaded": "overloaded",
        "warning": "warning",
        "steps_change": "change in steps",
        "materials_change": "change in materials",
        "certificates_change": "change in certificates",
        "trips_change": "change in trips",
        "mean_days_change": "change in mean working days",
        "fees_cny_change": "change in fees (CNY)",
        "share_change_pp": "change in share within target (points)",
    },
}


COMPARE = {
    "zh": {
        "compare_title": "两次运行的比较",
        "runs": "运行",
        "run": "运行",
        "folder": "文件夹",
        "written": "写入时间",
        "scenario_changes": "情景的差异",
        "scenario_changes_caption": (
            "解析后的情景（scenario.json）逐项比较：路径、A 的值 → B 的值；“–”表示该运行没有此项。"
        ),
        "no_changes": "两次运行的情景相同。",
        "more_changes": "另有 {n} 处差异见 compare.md。",
        "path": "路径",
        "figures": "指标对照",
        "figures_caption": (
            "两次运行共有的事项和方案：A、B 的值及 95% 区间，以及 B − A 的变化；"
            "变化的区间把两次运行视为独立（两次运行用同一随机种子时偏保守），加粗表示区间不含 0。"
        ),
        "change": "变化 B − A",
        "only_first": "只在 A 中：",
        "only_second": "只在 B 中：",
        "share_within_target": "目标内办结比例",
        "mean_days": "平均工作日",
        "p90_days": "90% 分位工作日",
    },
    "en": {
        "compare_title": "Two runs compared",
        "runs": "Runs",
        "run": "Run",
        "folder": "folder",
        "written": "written",
        "scenario_changes": "What differs in the scenarios",
        "scenario_changes_caption": (
            "The resolved scenarios (scenario.json) compared item by item: path, A's value → "
            "B's; '–' where a run has no such item."
        ),
        "no_changes": "The two runs' scenarios are the same.",
        "more_changes": "{n} more differences are listed in compare.md.",
        "path": "path",
        "figures": "Figures side by side",
        "figures_caption": (
            "The procedures and variants both runs have: A's and B's values with their 95% "
            "intervals, and the change B − A; its interval takes the runs as independent "
            "(conservative when they share a seed); bold when it excludes 0."
        ),
        "change": "change B − A",
        "only_first": "Only in A:",
        "only_second": "Only in B:",
        "share_within_target": "share within target",
        "mean_days": "mean working days",
        "p90_days": "90th percentile working days",
    },
}


SWEEP = {
    "zh": {
        "sweep_title": "参数扫描",
        "settings": "扫描的设置",
        "points": "组合数",
        "executor": "执行方式",
        "sweep_caption": (
            "每个组合用同一随机种子（共同随机数），组合之间的差别来自设置而非随机；"
            "图为目标内办结比例及其 95% 区间。"
        ),
        "heat_caption": (
            "热力图：行、列为两个设置的取值，格中为目标内办结比例及其 95% 区间；"
            "加粗表示 90% 分位在目标内。"
        ),
        "cheapest": "满足目标（90% 分位）的最省人员组合",
        "cheapest_caption": (
            "每个事项和方案（以及非人员设置的每个取值）中，"
            "90% 分位工作日不超过目标、人员总数最少的组合。"
        ),
        "total_staff": "人员总数",
        "p90": "90% 分位工作日",
        "never": "没有任何组合使其 90% 分位在目标内：",
        "table": "完整结果见 sweep.csv。",
    },
    "en": {
        "sweep_title": "Sweep",
        "settings": "Settings swept",
        "points": "points",
        "executor": "executor",
        "sweep_caption": (
            "Every point runs with the same seed (common random numbers): differences between "
            "points are the settings', not chance's. The charts show the share within target "
            "with its 95% interval."
        ),
        "heat_caption": (
            "Heat map: rows and columns are the two settings' values, cells the share within "
            "target with its 95% interval; bold where the 90th percentile is within the target."
        ),
        "cheapest": "The cheapest points that meet the target at the 90th percentile",
        "cheapest_caption": (
            "For each procedure and variant (and each value of the settings that are not staff), "
            "the point with the fewest staff whose 90th percentile of working days is within "
            "the target."
        ),
        "total_staff": "total staff",
        "p90": "90th percentile working days",
        "never": "No point brings the 90th percentile within the target for: ",
        "table": "The whole table is in sweep.csv.",
    },
}
