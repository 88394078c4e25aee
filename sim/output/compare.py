"""What changed between two saved runs: their scenarios, and their figures side by side.

`compare_runs` reads two results folders (`sim.output.rundata.read_run`) and gives

* the differences of their resolved scenarios (``scenario.json``) as readable lines,
  ``path: before → after``, where a list of steps, agencies, reforms or variants is
  keyed by its items' ids, so that an inserted step shows as one added line;
* for every procedure and variant both runs have: the share within target, the mean
  and the 90th percentile of the working days, each with its 95% interval, and the
  change from the first run to the second with an approximate interval (the two runs
  taken as independent: the square root of the sum of the squared half-widths; runs
  with the same seed share random numbers, for which this is conservative).

`write_comparison` writes ``compare.html`` (one self-contained page, as the report),
``compare.md`` and ``compare.csv``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.output.report import chart_labels, render_markdown, render_page
from sim.output.rundata import SAME, SavedRun
from sim.output.sections import Names, finite, fmt, interval, pct
from sim.output.tables import write_csv
from sim.output.text import COMPARE, REPORT
from sim.run.files import write_atomically

# The figures compared: summary column, decimals (None: a share), label key.
FIGURES = (
    ("share_within_target", None),
    ("mean_days", 1),
    ("p90_days", 1),
)
COMPARE_FILES = ("compare.html", "compare.md", "compare.csv")
# Keys that identify the items of a list in `scenario.json`.
_KEYS = ("id", "name", "label", "procedure")
_SKIP = {"format"}


@dataclass(frozen=True)
class RunComparison:
    """Two runs compared.

    Attributes:
        first: The first run.
        second: The second run.
        changes: The scenario differences: ``(path, before, after)``, with None for a side
            that lacks the path.
        figures: One row per procedure, variant and figure: both runs' values with their
            intervals, and the change with its approximate interval.
    """

    first: SavedRun
    second: SavedRun
    changes: list[tuple[str, Any, Any]]
    figures: pd.DataFrame


def compare_runs(first: SavedRun, second: SavedRun) -> RunComparison:
    """Compare two saved runs (the scenario differences and the shared figures)."""
    before = flatten(_expanded(first.scenario))
    after = flatten(_expanded(second.scenario))
    changes = [
        (path, before.get(path), after.get(path))
        for path in sorted(set(before) | set(after), key=_order(before, after))
        if before.get(path) != after.get(path)
    ]
    return RunComparison(first, second, changes, _figures(first, second))


def _order(before: dict[str, Any], after: dict[str, Any]):
    """Paths in the order the files list them (the first run's, then the second's new ones)."""
    rank = {path: index for index, path in enumerate([*before, *after]) if path}
    seen: dict[str, int] = {}
    for path, index in rank.items():
        seen.setdefault(path, index)
    return lambda path: seen.get(path, 0)


def _expanded(scenario: dict[str, Any]) -> dict[str, Any]:
    """The scenario data with each variant's "same as baseline" procedures written out."""
    data = {k: v for k, v in scenario.items() if k not in _SKIP}
    models = data.get("models", {})
    baseline = models.get("baseline", {}).get("procedures", {})
    data["models"] = {
        name: {
            **model,
            "procedures": {
                key: baseline.get(key) if value == SAME else value
                for key, value in model.get("procedures", {}).items()
            },
        }
        for name, model in models.items()
    }
    return data


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of nested data by its path (lists of identified items keyed by their ids)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list):
        keys = [_item_key(item) for item in value]
        if value and all(keys) and len(set(keys)) == len(keys):
            out = {}
            for key, item in zip(keys, value, strict=True):
                out.update(flatten(item, f"{path}[{key}]"))
            return out
        if all(not isinstance(item, (dict, list)) for item in value):
            return {path: value}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{path}[{index}]"))
        return out
    return {path: value}


def _item_key(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in _KEYS:
            if isinstance(item.get(key), str) and item[key]:
                return item[key]
    return None


def _figures(first: SavedRun, second: SavedRun) -> pd.DataFrame:
    a = first.summary.set_index(["procedure", "variant"])
    b = second.summary.set_index(["procedure", "variant"])
    rows = []
    shared = [k for k in a.index if k in b.index]
    order = {p: i for i, p in enumerate(dict.fromkeys(k[0] for k in shared))}
    shared.sort(key=lambda k: order[k[0]])  # procedure by procedure, variants in order
    for key in shared:
        for column, _digits in FIGURES:
            x, y = a.loc[key], b.loc[key]
            row = {"procedure": key[0], "variant": key[1], "figure": column}
            for side, found in (("first", x), ("second", y)):
                row[side] = float(found[column])
                row[f"{side}_low"] = _value(found, f"{column}_low")
                row[f"{side}_high"] = _value(found, f"{column}_high")
            row["change"] = row["second"] - row["first"]
            half = [
                (row[f"{s}_high"] - row[f"{s}_low"]) / 2
                for s in ("first", "second")
                if finite(row[f"{s}_low"]) and finite(row[f"{s}_high"])
            ]
            spread = math.sqrt(sum(h * h for h in half)) if len(half) == 2 else math.nan
            row["change_low"] = row["change"] - spread
            row["change_high"] = row["change"] + spread
            row["clear"] = bool(
                finite(spread) and (row["change_low"] > 0 or row["change_high"] < 0)
            )
            rows.append(row)
    columns = ["procedure", "variant", "figure", "first", "first_low", "first_high", "second"]
    columns += ["second_low", "second_high", "change", "change_low", "change_high", "clear"]
    return pd.DataFrame(rows, columns=columns)


def _value(row: pd.Series, column: str) -> float:
    return float(row[column]) if column in row.index and finite(row[column]) else math.nan


# --------------------------------------------------------------------------- output


def _shown(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def build_context(comparison: RunComparison, lang: str = "zh") -> dict[str, Any]:
    """What the comparison's templates show."""
    lang = "en" if lang == "en" else "zh"
    text = {**REPORT[lang], **COMPARE[lang]}
    names = Names(comparison.second.scenario, lang)
    first_names = Names(comparison.first.scenario, lang)
    runs = []
    for saved, label in ((comparison.first, "A"), (comparison.second, "B")):
        manifest = saved.manifest
        runs.append(
            {
                "label": label,
                "folder": str(saved.folder) if saved.folder else "",
                "scenario": saved.scenario.get("name"),
                "title": saved.scenario.get("title"),
                "run_id": manifest.get("run_id"),
                "seed": manifest.get("seed"),
                "replications": manifest.get("replications"),
                "written": manifest.get("written", ""),
            }
        )
    changes = [
        {"path": path, "before": _shown(before), "after": _shown(after)}
        for path, before, after in comparison.changes
    ]
    procedures, charts = [], {}
    figures = comparison.figures
    for procedure in dict.fromkeys(figures["procedure"]):
        mine = figures[figures["procedure"] == procedure]
        rows = []
        chart_titles, chart_values = [], []
        for variant in dict.fromkeys(mine["variant"]):
            cells = []
            for column, digits in FIGURES:
                found = mine[(mine["variant"] == variant) & (mine["figure"] == column)].iloc[0]
                cells.append(_cells(found, digits, text))
                if column == "share_within_target":
                    title = names.variant(variant)
                    for side, label in (("first", "A"), ("second", "B")):
                        chart_titles.append(f"{title} · {label}")
                        chart_values.append(
                            [
                                _percent(found[side]),
                                _percent(found[f"{side}_low"], 0.0),
                                _percent(found[f"{side}_high"], None, 100.0),
                            ]
                        )
            rows.append({"variant": names.variant(variant), "cells": cells})
        procedures.append(
            {
                "id": procedure,
                "name": names.procedure(procedure) or first_names.procedure(procedure),
                "rows": rows,
            }
        )
        charts[procedure] = {"titles": chart_titles, "share": chart_values}
    only = _only(comparison)
    return {
        "lang": lang,
        "t": text,
        "title": text["compare_title"],
        "runs": runs,
        "changes": changes,
        "procedures": procedures,
        "only": only,
        "charts": {"labels": chart_labels(lang), "procedures": charts},
    }


def _percent(value: Any, low: float | None = None, high: float | None = None) -> float | None:
    if not finite(value):
        return None
    number = 100 * float(value)
    if low is not None:
        number = max(number, low)
    if high is not None:
        number = min(number, high)
    return round(number, 1)


def _cells(row: pd.Series, digits: int | None, text: dict[str, str]) -> dict[str, Any]:
    share = digits is None

    def show(value: Any) -> str:
        return pct(value) if share else fmt(value, digits)

    def bounds(low: Any, high: Any) -> str:
        return interval(low, high, digits or 1, share, lower=0.0, upper=1.0 if share else None)

    change_scale = 100.0 if share else 1.0
    change = row["change"] * change_scale
    unit = f" {text['points']}" if share else ""
    return {
        "first": f"{show(row['first'])} {bounds(row['first_low'], row['first_high'])}".strip(),
        "second": f"{show(row['second'])} {bounds(row['second_low'], row['second_high'])}".strip(),
        "change": (
            f"{change:+.{0 if share else digits}f}{unit} "
            + interval(
                change_scale * row["change_low"],
                change_scale * row["change_high"],
                0 if share else digits,
            )
        ).strip()
        if finite(row["change"])
        else "–",
        "clear": bool(row["clear"]),
    }


def _only(comparison: RunComparison) -> dict[str, list[str]]:
    """Procedure/variant pairs that one run has and the other does not."""
    keys = [
        set(zip(s.summary["procedure"], s.summary["variant"], strict=True))
        for s in (comparison.first, comparison.second)
    ]
    return {
        "first": [f"{p} · {v}" for p, v in sorted(keys[0] - keys[1])],
        "second": [f"{p} · {v}" for p, v in sorted(keys[1] - keys[0])],
    }


def write_comparison(comparison: RunComparison, output: Path, lang: str = "zh") -> list[Path]:
    """Write ``compare.html``, ``compare.md`` and ``compare.csv`` into ``output``."""
    output = Path(output)
    context = build_context(comparison, lang)
    page = render_page("compare.html.j2", context)
    markdown = render_markdown(context, "compare.md.j2")
    written = []
    for name, body in (("compare.html", page), ("compare.md", markdown)):
        path = output / name
        write_atomically(path, lambda p, body=body: p.write_text(body, encoding="utf-8"))
        written.append(path)
    written.append(write_csv(comparison.figures, output / "compare.csv"))
    return written
