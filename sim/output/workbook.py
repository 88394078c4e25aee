"""``results.xlsx``: the summary, the comparison, the agencies and the six measures in one workbook.

One sheet a table, headers in Chinese or English (``--lang``), numbers as numbers (shares
formatted as percentages), names of procedures, agencies and variants as the report
shows them, the header row frozen and filtered. Text cells are written as text, never
as formulas (openpyxl would take a cell beginning with ``=`` for one).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from sim.output.text import COLUMNS, REPORT, WORKBOOK
from sim.run.files import write_atomically

SHEETS = ("summary", "measures", "comparison", "agencies")
# Columns holding a share (shown as a percentage).
_SHARES = ("share_within_target", "utilisation")
MEASURES = ("steps", "materials", "certificates", "trips", "mean_days", "fees_cny")


def write_workbook(saved, path: Path, lang: str = "zh") -> Path:
    """Write the workbook of a run.

    Args:
        saved: The run's `sim.output.rundata.SavedRun`.
        path: The ``.xlsx`` file.
        lang: ``zh`` or ``en``: headers and names.

    Returns:
        The file written.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.utils import get_column_letter

    lang = "en" if lang == "en" else "zh"
    names = _Names(saved.scenario, lang)
    sheets = {
        "summary": _named(saved.summary, names),
        "measures": _measures(saved.summary, saved.comparison, names),
        "comparison": _named(saved.comparison, names),
        "agencies": _named(saved.agencies, names),
    }
    book = Workbook()
    book.remove(book.active)
    headers = COLUMNS[lang]
    for key in SHEETS:
        frame = sheets[key]
        sheet = book.create_sheet(WORKBOOK[lang][key])
        sheet.append([headers.get(str(c), str(c)) for c in frame.columns])
        for values in frame.itertuples(index=False):
            sheet.append([_cell(v) for v in values])
        for column, name in enumerate(frame.columns, start=1):
            share = any(str(name).startswith(s) for s in _SHARES) or str(name).endswith("_pp")
            letter = get_column_letter(column)
            width = max([len(str(headers.get(str(name), name)))] + [8])
            sheet.column_dimensions[letter].width = min(width + 2, 40)
            for cell in sheet[letter][1:]:
                if cell.data_type == "f":  # openpyxl reads text beginning with = as a formula
                    cell.data_type = TYPE_STRING
                elif share and str(name).endswith("_pp"):
                    cell.number_format = "0.0"
                elif share:
                    cell.number_format = "0.0%"
        sheet.freeze_panes = "A2"
        if frame.shape[1]:
            sheet.auto_filter.ref = sheet.dimensions

    def write(temporary: Path) -> None:
        book.save(temporary)

    write_atomically(path, write)
    return path


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _cell(value.item())
    return value


class _Names:
    """Display names of a saved scenario's ids."""

    def __init__(self, scenario: dict[str, Any], lang: str) -> None:
        self.lang = lang
        self.procedures = {k: _label(v["name"], lang) for k, v in scenario["procedures"].items()}
        self.agencies = {k: _label(v["name"], lang) for k, v in scenario["agencies"].items()}
        self.variants = {
            v["name"]: (
                REPORT[lang]["baseline"] if v["name"] == "baseline" else _label(v["title"], lang)
            )
            for v in scenario["variants"]
        }

    def agency(self, agency: str) -> str:
        return "+".join(self.agencies.get(part, part) for part in str(agency).split("+"))


def _label(name: Any, lang: str) -> str:
    if isinstance(name, dict):
        return name.get(lang) or name.get("zh") or name.get("en") or ""
    return str(name or "")


def _named(frame: pd.DataFrame, names: _Names) -> pd.DataFrame:
    """The table with names beside the ids (the ids stay, for filtering and joining)."""
    frame = frame.copy()
    inserts = []
    if "variant" in frame:
        inserts.append(("variant", "variant_name", lambda v: names.variants.get(v, v)))
    if "procedure" in frame:
        inserts.append(("procedure", "procedure_name", lambda p: names.procedures.get(p, p)))
    if "agency" in frame:
        inserts.append(("agency", "agency_name", names.agency))
    for after, column, name in inserts:
        values = [name(value) for value in frame[after]]
        frame.insert(frame.columns.get_loc(after) + 1, column, values)
    return frame


def _measures(summary: pd.DataFrame, comparison: pd.DataFrame, names: _Names) -> pd.DataFrame:
    """The six measures (六减) per procedure and variant, with the change against the baseline."""
    if summary.empty:
        return pd.DataFrame(columns=["procedure", "variant", *MEASURES])
    rows = summary[["procedure", "variant", *MEASURES, "share_within_target"]].copy()
    if len(comparison):
        changes = comparison.pivot_table(
            index=["procedure", "variant"], columns="metric", values="difference", aggfunc="first"
        )
        for metric in (*MEASURES, "share_within_target"):
            if metric in changes:
                column = (
                    f"{metric}_change" if metric != "share_within_target" else "share_change_pp"
                )
                found = changes[metric].reindex(
                    pd.MultiIndex.from_frame(rows[["procedure", "variant"]])
                )
                values = found.to_numpy(float)
                rows[column] = values * 100 if metric == "share_within_target" else values
    return _named(rows.reset_index(drop=True), names)
