"""The fit report of a calibration (``fit_report.html``, ``fit_report.md``) and its files.

`write_calibration` writes what ``approvalsim calibrate`` produces: the fitted procedure
and scenario files (`sim.output.calibrated`), the fit tables as CSV, and the report. The
report says, with numbers and figures, how closely the fitted model reproduces the
held-back records and where it does not (`sim.analysis.calibration.evaluation`); like
the run report, the HTML is self-contained (inline SVG, the run report's style sheet and
an embedded subset of a CJK font) and the Markdown escapes what it interpolates.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration.calibrate import Calibration
from sim.analysis.calibration.evaluation import Evaluation
from sim.analysis.calibration.fitted import fitted_numbers
from sim.output.calibrated import write_yaml
from sim.output.report import environment, render_page
from sim.output.text import FIT
from sim.run.files import write_atomically

REPORT_FILES = ("fit_report.html", "fit_report.md")
TABLES = ("fit_summary.csv", "fit_steps.csv", "fit_arrivals.csv", "fitted_numbers.csv")
DFG_ROWS = 15


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}g}"


def _share(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{100 * float(value):.1f}%"


def _with_interval(value, low, high, share: bool = False) -> str:
    show = _share if share else _number
    text = show(value)
    if any(isinstance(v, float) and math.isfinite(v) for v in (low, high)):
        text += f" [{show(low)}, {show(high)}]"
    return text


# --------------------------------------------------------------------------- sentences


def sentences(evaluation: Evaluation, lang: str) -> list[str]:
    """Plain sentences: where the fit is poor, and whether it beats the naive predictor."""
    return _sentences(evaluation.summary, evaluation.steps, evaluation.arrivals, lang)


def _sentences(summary: pd.DataFrame, steps: pd.DataFrame, arrivals: pd.DataFrame, lang: str):
    t = FIT[lang]
    if summary.empty:
        return [t["sentence_nothing"]]
    said = []
    working = summary[summary["unit"] == "working_days"].set_index("measure")
    for measure in ("mean", "median", "p90", "share_within_target"):
        if measure not in working.index or working.loc[measure, "verdict"] != "poor":
            continue
        row = working.loc[measure]
        share = measure == "share_within_target"
        said.append(
            t["sentence_poor_measure"].format(
                label=t[measure],
                sim=_with_interval(
                    row["simulated"], row["simulated_low"], row["simulated_high"], share
                ),
                rec=_with_interval(row["records"], row["records_low"], row["records_high"], share),
            )
        )
    if "w1" in working.index:
        row = working.loc["w1"]
        closer = t["closer"] if row["simulated"] < row["naive"] else t["not_closer"]
        said.append(
            t["sentence_w1"].format(
                closer=closer,
                sim=_number(row["simulated"]),
                naive=_number(row["naive"]),
                noise=_number(row["noise"]),
            )
        )
        if row["verdict"] == "poor":
            said.append(
                t["sentence_poor_w1"].format(
                    sim=_number(row["simulated"]),
                    noise=_number(row["noise"]),
                    p=_number(row["p_value"], 2),
                )
            )
    for row in steps.itertuples(index=False):
        if row.time_verdict == "poor":
            said.append(
                t["sentence_poor_step"].format(
                    step=row.name,
                    sim=_number(row.simulated_median),
                    rec=_number(row.records_median),
                )
            )
        if getattr(row, "share_verdict", "") == "poor":
            said.append(
                t["sentence_poor_share"].format(
                    step=row.name,
                    sim=_share(row.simulated_share),
                    rec=_with_interval(
                        row.records_share, row.records_share_low, row.records_share_high, True
                    ),
                )
            )
        if row.send_back_verdict == "poor":
            said.append(
                t["sentence_poor_send_back"].format(
                    step=row.name,
                    sim=_share(row.simulated_send_back),
                    rec=_share(row.records_send_back),
                )
            )
    if len(arrivals):
        total, simulated = int(arrivals["records"].sum()), float(arrivals["simulated"].sum())
        if abs(simulated - total) > 3 * math.sqrt(max(simulated, 1.0)):
            said.append(t["sentence_poor_arrivals"].format(rec=total, sim=f"{simulated:.0f}"))
    if not any(sentence_is_poor(s, lang) for s in said):
        said.insert(0, t["sentence_all_good"])
    return said


def sentences_of(result, lang: str = "en") -> list[str]:
    """`sentences` from the tables of a `sim.CalibrationResult`."""
    steps = (
        result.steps
        if not result.steps.empty
        else pd.DataFrame(columns=["name", "time_verdict", "send_back_verdict"])
    )
    return _sentences(result.summary, steps, result.arrivals, lang)


def sentence_is_poor(sentence: str, lang: str) -> bool:
    """Whether a sentence of `sentences` reports a poor fit."""
    return sentence.startswith("Poor") if lang == "en" else "拟合较差" in sentence


# --------------------------------------------------------------------------- context


def _summary_rows(evaluation: Evaluation, t: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for row in evaluation.summary.itertuples(index=False):
        share = row.measure == "share_within_target"
        distance = row.measure in ("w1", "ks")
        rows.append(
            {
                "unit": t[row.unit],
                "measure": t[row.measure],
                "records": ""
                if distance
                else _with_interval(row.records, row.records_low, row.records_high, share),
                "simulated": _with_interval(
                    row.simulated, row.simulated_low, row.simulated_high, share
                ),
                "naive": _with_interval(row.naive, row.naive_low, row.naive_high, share),
                "noise": _number(row.noise) if distance else "",
                "verdict": t.get(row.verdict, ""),
                "poor": row.verdict == "poor",
            }
        )
    return rows


def _step_rows(evaluation: Evaluation, t: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for row in evaluation.steps.itertuples(index=False):
        cells = {}
        for name in ("records", "simulated", "naive"):
            cells[name] = _with_interval(
                getattr(row, f"{name}_median"),
                getattr(row, f"{name}_median_low"),
                getattr(row, f"{name}_median_high"),
            )
            cells[f"{name}_send_back"] = _with_interval(
                getattr(row, f"{name}_send_back"),
                getattr(row, f"{name}_send_back_low"),
                getattr(row, f"{name}_send_back_high"),
                share=True,
            )
            cells[f"{name}_cases"] = int(getattr(row, f"{name}_cases"))
            cells[f"{name}_share"] = _share(getattr(row, f"{name}_share"))
        rows.append(
            {
                "step": row.name,
                **cells,
                "time_verdict": t.get(row.time_verdict, ""),
                "send_back_verdict": t.get(row.send_back_verdict, ""),
                "share_verdict": t.get(row.share_verdict, ""),
                "poor": "poor" in (row.time_verdict, row.send_back_verdict, row.share_verdict),
            }
        )
    return rows


def _structure_rows(calibration: Calibration) -> list[dict[str, Any]]:
    procedure = calibration.procedure
    return [
        {
            "id": step.id,
            "name": step.name.label("zh"),
            "agency": step.agency,
            "after": ", ".join(step.after),
            "when": step.when.text if step.when is not None else "",
        }
        for step in procedure.steps
    ]


def _span(calibration: Calibration, cases) -> str:
    """The dates of the first and the last first event of some cases."""
    first = cases["first"]
    return f"{calibration.date(float(first.min()))} – {calibration.date(float(first.max()))}"


def build_context(
    evaluation: Evaluation, lang: str = "zh", files: list[Path] | None = None, figures: bool = True
) -> dict[str, Any]:
    """Everything the fit report's templates show (SVG text when ``figures``)."""
    lang = "en" if lang == "en" else "zh"
    t = FIT[lang]
    calibration = evaluation.calibration
    cases = calibration.cases
    training, test = calibration.training, calibration.test
    svg: dict[str, str] = {}
    if figures:
        from sim.output import figures as plots  # matplotlib, loaded only to draw

        target = calibration.procedure.target_days
        drawn = {
            "cycle_working": plots.plot_fit_cycle_times(
                evaluation.samples, "working_days", target, lang=lang
            ),
            "cycle_calendar": plots.plot_fit_cycle_times(
                evaluation.samples, "calendar_days", lang=lang
            ),
            "steps": plots.plot_fit_steps(evaluation.steps, lang=lang),
            "arrivals": plots.plot_fit_arrivals(evaluation.arrivals, lang=lang),
        }
        with plots.deferred_drawing():
            svg = {
                name: plots.to_svg(figure, prefix=f"fit-{name}-") for name, figure in drawn.items()
            }
    findings = {**calibration.findings, **evaluation.findings}
    profile = calibration.arrivals.profile
    dfg = calibration.structure.dfg.head(DFG_ROWS)
    names = calibration.structure.names
    numbers = fitted_numbers(calibration)
    said = sentences(evaluation, lang)
    return {
        "lang": lang,
        "t": t,
        "title": f"{t['title']}: {calibration.procedure.name.label(lang)}",
        "records_file": calibration.records.file.name,
        "period": _span(calibration, cases),
        "training": f"{len(training)} ({_span(calibration, training)})",
        "held_back": f"{len(test)} ({_span(calibration, test)})",
        "calendar": calibration.settings.rule.describe(),
        "replications": evaluation.run.replications,
        "seed": calibration.scenario.seed,
        "sentences": said,
        "poor": [sentence_is_poor(sentence, lang) for sentence in said],
        "findings": [
            {"label": t.get(f"finding_{key}", key), "count": value}
            for key, value in findings.items()
        ],
        "notes": list(calibration.notes),
        "summary": _summary_rows(evaluation, t),
        "steps": _step_rows(evaluation, t),
        "arrivals": [
            {
                "week": str(row.week),
                "records": int(row.records),
                "simulated": _with_interval(row.simulated, row.simulated_low, row.simulated_high),
                "naive": _number(row.naive),
            }
            for row in evaluation.arrivals.itertuples(index=False)
        ],
        "profile": [
            {
                "kind": row.kind,
                "label": row.label,
                "days": row.working_days,
                "cases": row.cases,
                "rate": _number(row.rate),
            }
            for row in profile.itertuples(index=False)
        ],
        "profile_test": t["profile_test"].format(
            weekday=_number(calibration.arrivals.weekday_p, 2),
            month=_number(calibration.arrivals.month_p, 2),
        ),
        "numbers": [
            {
                key: (_number(value) if isinstance(value, float) else value)
                for key, value in row.items()
            }
            for row in numbers.to_dict("records")
        ],
        "structure": _structure_rows(calibration),
        "dfg": [
            {"from": row["from"], "to": row["to"], "count": int(row["count"])}
            for row in dfg.to_dict("records")
        ],
        "parallel": [f"{a} ∥ {b}" for a, b in calibration.structure.parallel],
        "files": [Path(path).name for path in files or []],  # beside the report
        "svg": svg,
        "step_names": names,
    }


# --------------------------------------------------------------------------- writing


def write_report(
    evaluation: Evaluation, folder: Path, lang: str = "zh", files: list[Path] | None = None
) -> list[Path]:
    """Write ``fit_report.html`` and ``fit_report.md`` into ``folder``, each atomically."""
    from markupsafe import Markup

    context = build_context(evaluation, lang, files)
    html_context = dict(context, figure=lambda name: Markup(context["svg"].get(name, "")))
    html = render_page("fit_report.html.j2", html_context)
    markdown = environment(True).get_template("fit_report.md.j2").render(**context)
    written = []
    for name, body in zip(REPORT_FILES, (html, markdown), strict=True):
        path = Path(folder) / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    return written


def write_tables(evaluation: Evaluation, folder: Path) -> list[Path]:
    """The fit tables as CSV: summary, steps, arrivals, fitted numbers."""
    frames = (
        evaluation.summary,
        evaluation.steps,
        evaluation.arrivals,
        fitted_numbers(evaluation.calibration),
    )
    written = []
    for name, frame in zip(TABLES, frames, strict=True):
        path = Path(folder) / name
        write_atomically(
            path,
            lambda p, frame=frame: frame.to_csv(
                p, index=False, encoding="utf-8", float_format="%.6g"
            ),
        )
        written.append(path)
    return written


def write_files(calibration: Calibration, folder: Path) -> list[Path]:
    """The fitted procedure and scenario files, named as the scenario expects."""
    folder = Path(folder)
    procedure_id = calibration.procedure_data["id"]
    header = (
        f"Fitted by `approvalsim calibrate` from {calibration.records.file.name}.\n"
        "Every number says where it came from (source: and the comment above it)."
    )
    procedure = write_yaml(
        folder / f"{procedure_id}.yaml",
        calibration.procedure_data,
        calibration.comments["procedure"],
        header,
    )
    scenario = write_yaml(
        folder / f"{calibration.scenario_data['name']}.yaml",
        calibration.scenario_data,
        calibration.comments["scenario"],
        header,
    )
    return [procedure, scenario]


def write_calibration(
    evaluation: Evaluation | None, calibration: Calibration, folder: Path, lang: str = "zh"
) -> list[Path]:
    """Write the fitted files, and with an evaluation the tables and the fit report."""
    folder = Path(folder)
    written = write_files(calibration, folder)
    if evaluation is not None:
        written += write_tables(evaluation, folder)
        written += write_report(evaluation, folder, lang, files=list(written))
    return written
