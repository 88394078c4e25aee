"""A sweep's files: the tidy table (``sweep.csv``) and a small report (``sweep.html``, ``.md``).

The report shows, for each procedure, the share within target against the swept values:
a line per variant (and per value of a second setting) when one setting is swept, a
heat map (rows the first setting's values, columns the second's) when two are, and the
table otherwise; then the cheapest point that meets the target at the 90th percentile
(`sim.sweep.cheapest_points`). It is one self-contained page like the run report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sim.output.report import chart_labels, render_markdown, render_page
from sim.output.sections import Names, finite, fmt, interval, pct
from sim.output.tables import write_csv
from sim.output.text import REPORT, SWEEP
from sim.run.files import write_atomically

SWEEP_FILES = ("sweep.csv", "sweep.html", "sweep.md")


def write_sweep(
    table: pd.DataFrame,
    cheapest: pd.DataFrame,
    settings: list[str],
    scenario: dict[str, Any],
    about: dict[str, Any],
    output: Path,
    lang: str = "zh",
) -> list[Path]:
    """Write ``sweep.csv``, ``sweep.html`` and ``sweep.md`` into ``output``.

    Args:
        table: `sim.sweep.sweep`'s table.
        cheapest: `sim.sweep.cheapest_points` of it.
        settings: The setting columns, in the order swept.
        scenario: `sim.output.rundata.scenario_data` of the scenario (names).
        about: Scenario name, seed, replications, executor (shown in the report).
        output: The folder.
        lang: ``zh`` or ``en``.

    Returns:
        The files written.
    """
    output = Path(output)
    context = build_context(table, cheapest, settings, scenario, about, lang)
    written = [write_csv(table, output / "sweep.csv")]
    for name, body in (
        ("sweep.html", render_page("sweep.html.j2", context)),
        ("sweep.md", render_markdown(context, "sweep.md.j2")),
    ):
        path = output / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    return written


def build_context(table, cheapest, settings, scenario, about, lang) -> dict[str, Any]:
    """What the sweep's templates show."""
    lang = "en" if lang == "en" else "zh"
    text = {**REPORT[lang], **SWEEP[lang]}
    names = Names(scenario, lang)
    procedures, charts = [], {}
    for procedure in dict.fromkeys(table["procedure"]):
        rows = table[table["procedure"] == procedure]
        target, _ = names.target(procedure)
        entry: dict[str, Any] = {
            "id": procedure,
            "name": names.procedure(procedure),
            "target": fmt(target, 1).rstrip("0").rstrip(".") if target is not None else "–",
            "heat": None,
            "line": False,
        }
        if len(settings) == 1 or (len(settings) == 2 and rows["variant"].nunique() == 1):
            charts[procedure] = _line(rows, settings, names)
            entry["line"] = True
        if len(settings) == 2:
            entry["heat"] = _heat(rows, settings, names)
        procedures.append(entry)
    best = [
        {
            "procedure": names.procedure(row["procedure"]),
            "variant": names.variant(row["variant"]),
            "settings": ", ".join(f"{s} = {row[s]}" for s in settings),
            "staff": int(row["total_staff"]),
            "p90": f"{fmt(row['p90_days'])} "
            + interval(row["p90_days_low"], row["p90_days_high"], lower=0.0),
            "target": f"{float(row['target_days']):g}",
            "share": _share(row),
        }
        for _, row in cheapest.iterrows()
    ]
    met = set(cheapest["procedure"]) if len(cheapest) else set()
    return {
        "lang": lang,
        "t": text,
        "title": f"{scenario.get('title') or scenario.get('name')} · {text['sweep_title']}",
        "about": about,
        "settings": settings,
        "points": int(table["point"].nunique()) if len(table) else 0,
        "procedures": procedures,
        "cheapest": best,
        "never": [names.procedure(p) for p in dict.fromkeys(table["procedure"]) if p not in met],
        "charts": {"labels": chart_labels(lang), "procedures": charts},
    }


def _share(row: pd.Series) -> str:
    return (
        f"{pct(row['share_within_target'])} "
        + interval(
            row["share_within_target_low"],
            row["share_within_target_high"],
            percent=True,
            lower=0.0,
            upper=1.0,
        )
    ).strip()


def _percent(value: Any, low: float = 0.0, high: float = 100.0) -> float | None:
    return round(min(max(100 * float(value), low), high), 1) if finite(value) else None


def _line(rows: pd.DataFrame, settings: list[str], names: Names) -> dict[str, Any]:
    """A line chart: x the first setting; a series per variant and second setting's value."""
    first, others = settings[0], settings[1:]
    xs = list(dict.fromkeys(rows[first]))
    series = []
    groups = ["variant", *others]
    for key, part in rows.groupby(groups, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        label = " · ".join(
            [names.variant(key[0]), *(f"{s} = {v}" for s, v in zip(others, key[1:], strict=True))]
        )
        by_x = part.set_index(first)
        values = []
        for x in xs:
            if x not in by_x.index:
                values.append(None)
                continue
            found = by_x.loc[x]
            found = found.iloc[0] if isinstance(found, pd.DataFrame) else found
            values.append(
                [
                    _percent(found["share_within_target"]),
                    _percent(found["share_within_target_low"]),
                    _percent(found["share_within_target_high"]),
                ]
            )
        series.append({"label": label, "values": values})
    return {"x": xs, "xlabel": first, "series": series}


def _heat(rows: pd.DataFrame, settings: list[str], names: Names) -> list[dict[str, Any]]:
    """Heat maps (one a variant): rows the first setting's values, columns the second's."""
    first, second = settings
    out = []
    for variant, part in rows.groupby("variant", sort=False):
        columns = list(dict.fromkeys(part[second]))
        lines = []
        for value in dict.fromkeys(part[first]):
            cells = []
            for other in columns:
                found = part[(part[first] == value) & (part[second] == other)]
                if found.empty:
                    cells.append({"text": "–", "style": ""})
                    continue
                row = found.iloc[0]
                share = (
                    float(row["share_within_target"]) if finite(row["share_within_target"]) else 0
                )
                # White to green with the share; the 90th percentile within target in bold.
                light = 97 - 45 * share
                cells.append(
                    {
                        "text": _share(row),
                        "style": f"background: hsl(120, 45%, {light:.0f}%)",
                        "met": bool(row["p90_within_target"]),
                    }
                )
            lines.append({"value": value, "cells": cells})
        out.append(
            {
                "variant": names.variant(str(variant)),
                "first": first,
                "second": second,
                "columns": columns,
                "rows": lines,
            }
        )
    return out
