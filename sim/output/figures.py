"""Figures of a run: one function per figure, each returning a matplotlib `Figure`.

This is the only module that imports matplotlib. It uses the object-oriented API
(`matplotlib.figure.Figure`, no pyplot), so it neither changes the backend of a notebook
nor needs a display: ``fig.savefig(..., format="svg")`` works anywhere. Every function
takes ``ax=None`` (draw into a fresh figure) or an axes of the caller's figure, and
``lang`` (``zh`` or ``en``) for the labels; it returns the figure it drew into, so a
notebook can restyle it.

Chinese labels need a CJK font. `find_cjk_font` looks for one (WenQuanYi, Noto CJK,
Source Han, the usual Windows and macOS fonts, or the file named by the environment
variable ``APPROVALSIM_CJK_FONT``); when there is none, the first figure asked for in
Chinese warns once with the install command and every figure uses the English names.
"""

from __future__ import annotations

import contextvars
import inspect
import io
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.domain.model import Scenario
from sim.output.fonts import cjk_font_files
from sim.output.text import FIGURES, has_cjk, variant_title, wrap

INSTALL_HINT = "apt-get install fonts-wqy-microhei"
"""How to install a CJK font on Debian or Ubuntu (``fonts-noto-cjk`` works too)."""

CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Sarasa Gothic SC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Hiragino Sans GB",
)
"""Font families known to cover simplified Chinese, in order of preference."""

KIND_COLOURS = {
    "queue": "#f2b134",
    "handling": "#3b6fb6",
    "waiting": "#8fb3de",
    "correction": "#d1495b",
    "delay": "#b0a8b9",
}

_warned = False
_deferred = contextvars.ContextVar("approvalsim_deferred_drawing", default=False)


# --------------------------------------------------------------------------- fonts


def find_cjk_font() -> str | None:
    """The family name of an installed font that covers Chinese, or None.

    Looks at ``APPROVALSIM_CJK_FONT`` (a font file) first, then matplotlib's font list
    for the families of `CJK_FAMILIES`, then at the files fontconfig lists for Chinese
    (fonts installed after matplotlib built its font cache).

    Returns:
        A family name usable in ``font.family``, or None when no CJK font is found.
    """
    manager = font_manager.fontManager
    named = os.environ.get("APPROVALSIM_CJK_FONT")
    if named and os.path.isfile(named):
        try:
            manager.addfont(named)
            return font_manager.FontProperties(fname=named).get_name()
        except (OSError, RuntimeError, ValueError):
            pass
    available = {entry.name for entry in manager.ttflist}
    for family in CJK_FAMILIES:
        if family in available:
            return family
    for path in cjk_font_files():
        try:
            manager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
        if name:
            return name
    return None


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """`find_cjk_font`, looked up once per process (`cjk_font.cache_clear` to look again)."""
    return find_cjk_font()


def effective_lang(lang: str = "zh") -> str:
    """``lang``, or ``en`` when Chinese is asked for and no CJK font is installed.

    Warns once per process (a `UserWarning`) with the install command.
    """
    global _warned
    if lang != "zh":
        return "en"
    if cjk_font() is not None:
        return "zh"
    if not _warned:
        _warned = True
        warnings.warn(
            "no CJK font found for Chinese labels; figures use the English names. "
            f"Install one with: {INSTALL_HINT} (or fonts-noto-cjk)",
            UserWarning,
            stacklevel=3,
        )
    return "en"


def reset_font_warning() -> None:
    """Forget the font lookup and the warning (for tests, or after installing a font)."""
    global _warned
    _warned = False
    cjk_font.cache_clear()


def pick(zh: Any, en: Any, lang: str, fallback: Any = "") -> str:
    """The name to show in ``lang`` (as returned by `effective_lang`).

    In Chinese the Chinese name (else the English); in English the English name, else
    the Chinese one when a CJK font can draw it, else ``fallback`` (usually an id).
    """
    zh, en, fallback = _text(zh), _text(en), _text(fallback)
    if lang == "zh":
        return zh or en or fallback
    if en and (not has_cjk(en) or cjk_font() is not None):
        return en
    if zh and cjk_font() is not None:
        return zh
    return fallback or en or zh


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def text(key: str, lang: str) -> str:
    """A fixed label of the figures in ``lang``."""
    return FIGURES["zh" if lang == "zh" else "en"][key]


@contextmanager
def _style(lang: str):
    """Fonts for one figure: the CJK font if any (it has Latin letters too), then DejaVu Sans.

    DejaVu Sans is the fallback for the glyphs the CJK font lacks (⚠); putting the CJK
    font first halves the text layout time against the other order.
    """
    families = ["DejaVu Sans"]
    font = cjk_font()
    if font is not None:
        families.insert(0, font)
    with matplotlib.rc_context(
        {
            "font.family": families,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.unicode_minus": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "approvalsim",
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from")
            yield


def _axes(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _finish(figure: Figure) -> Figure:
    # Drawing once inside the style fixes the fonts of lazily created texts (tick labels),
    # so that the figure keeps them when a notebook draws it later. `to_svg` draws inside
    # the same style, so a caller that only exports (the report) may skip this draw.
    if not _deferred.get():
        figure.draw_without_rendering()
    return figure


@contextmanager
def deferred_drawing():
    """Within this block the plot functions skip their preliminary draw.

    Use it when every figure is exported with `to_svg` (which draws with the right fonts)
    and not shown otherwise: it halves the drawing time.
    """
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def _empty(ax: Axes, lang: str) -> None:
    ax.text(0.5, 0.5, text("no_data", lang), ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def variant_label(scenario: Scenario | None, variant: str, lang: str) -> str:
    """The display name of a variant: its title (or name); ``baseline`` translated."""
    if variant == "baseline":
        return text("baseline", lang)
    if scenario is not None:
        title = variant_title(scenario, variant, lang)
        return title if (not has_cjk(title) or cjk_font() is not None) else variant
    return variant


def procedure_label(scenario: Scenario | None, procedure: str, lang: str) -> str:
    """The display name of a procedure id in ``lang``."""
    found = scenario.procedure_index.get(procedure) if scenario is not None else None
    if found is None:
        return procedure
    return pick(found.name.zh, found.name.en, lang, procedure)


def agency_label(scenario: Scenario | None, agency: str, lang: str) -> str:
    """The display name of an agency id (or a joint ``a+b``) in ``lang``."""
    parts = [part for part in str(agency).split("+") if part]
    names = []
    for part in parts:
        found = scenario.agency_index.get(part) if scenario is not None else None
        names.append(pick(found.name.zh, found.name.en, lang, part) if found else part)
    return "+".join(names)


def agency_colours(agencies: Iterable[str]) -> dict[str, Any]:
    """A colour for each agency id, stable in the given order (tab10, Dark2, tab20b)."""
    palette = (
        list(matplotlib.colormaps["tab10"].colors)
        + list(matplotlib.colormaps["Dark2"].colors)
        + list(matplotlib.colormaps["tab20b"].colors)
    )
    order = list(dict.fromkeys(str(a) for a in agencies))
    return {agency: palette[index % len(palette)] for index, agency in enumerate(order)}


def _variant_order(frame: pd.DataFrame, scenario: Scenario | None) -> list[str]:
    present = list(dict.fromkeys(frame["variant"]))
    preferred = list(scenario.variant_names) if scenario is not None else []
    return [v for v in preferred if v in present] + [v for v in present if v not in preferred]


def _percent(values) -> np.ndarray:
    return 100 * np.asarray(values, dtype=float)


def _error(values, low, high) -> np.ndarray:
    values, low, high = (np.asarray(x, dtype=float) for x in (values, low, high))
    below = np.where(np.isfinite(low), values - low, 0.0)
    above = np.where(np.isfinite(high), high - values, 0.0)
    return np.vstack([np.maximum(below, 0), np.maximum(above, 0)])


# --------------------------------------------------------------------------- cycle times


def plot_cycle_times(
    cases: pd.DataFrame,
    procedure: str,
    scenario: Scenario | None = None,
    variants: Sequence[str] | None = None,
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Distribution of the elapsed working days of completed cases, one violin per variant.

    Args:
        cases: The case table (`sim.engines.records.CASE_COLUMNS`).
        procedure: The procedure id.
        scenario: The scenario (names, target, warm-up); optional.
        variants: Variants to show, in order (default: those present).
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        subset = cases[(cases["procedure"] == procedure) & (cases["status"] == "completed")]
        if scenario is not None:
            subset = subset[subset["arrival_day"] >= scenario.horizon.warmup_days]
        order = list(variants) if variants else _variant_order(subset, scenario)
        figure, ax = _axes(ax, (7, 0.6 + 0.55 * max(len(order), 1)))
        data = [
            subset.loc[subset["variant"] == v, "elapsed_working_days"].to_numpy(float)
            for v in order
        ]
        shown = [(i, d) for i, d in enumerate(data) if len(d)]
        if not shown:
            _empty(ax, lang)
            return _finish(figure)
        positions = [len(order) - i for i, _ in shown]
        values = [
            d if len(d) <= 20000 else np.quantile(d, np.linspace(0, 1, 20000)) for _, d in shown
        ]
        spread = [d for d in values if np.ptp(d) > 0]
        if spread:
            parts = ax.violinplot(
                [d if np.ptp(d) > 0 else d + np.linspace(-1e-6, 1e-6, len(d)) for d in values],
                positions=positions,
                showextrema=False,
                widths=0.8,
                **_HORIZONTAL,
            )
            for body in parts["bodies"]:
                body.set_facecolor("#8fb3de")
                body.set_edgecolor("#3b6fb6")
                body.set_alpha(0.8)
        for position, d in zip(positions, values, strict=True):
            ax.plot(np.median(d), position, "o", color="black", markersize=4)
            ax.plot(np.quantile(d, 0.9), position, "|", color="#d1495b", markersize=12, mew=2)
        ax.set_yticks(
            [len(order) - i for i in range(len(order))],
            [wrap(variant_label(scenario, v, lang)) for v in order],
        )
        ax.set_ylim(0.4, len(order) + 0.6)
        target = _target_of(scenario, procedure)
        if target is not None and target[1] != "working_days":
            target = None  # the axis is in working days: a calendar-day target has no place
        if target is not None:
            ax.axvline(target[0], color="#d1495b", linestyle="--", linewidth=1.2)
        handles = [
            ax.plot([], [], "o", color="black", markersize=4, label=text("median", lang))[0],
            ax.plot([], [], "|", color="#d1495b", markersize=10, mew=2, label=text("p90", lang))[0],
        ]
        if target is not None:
            handles.append(
                ax.plot(
                    [],
                    [],
                    linestyle="--",
                    color="#d1495b",
                    label=_target_text(target, lang),
                )[0]
            )
        ax.legend(handles=handles, loc="lower right", fontsize=7, frameon=False)
        ax.set_xlabel(text("working_days", lang))
        ax.set_xlim(left=0)
        ax.set_title(procedure_label(scenario, procedure, lang))
        return _finish(figure)


# ``orientation`` replaced ``vert`` in matplotlib 3.10.
_HORIZONTAL = (
    {"orientation": "horizontal"}
    if "orientation" in inspect.signature(Axes.violinplot).parameters
    else {"vert": False}
)


def _target_of(scenario: Scenario | None, procedure: str) -> tuple[float, str] | None:
    """The procedure's target and its unit (``working_days`` or ``calendar_days``)."""
    found = scenario.procedure_index.get(procedure) if scenario is not None else None
    return (float(found.target_days), found.target_unit) if found is not None else None


def _target_text(target: tuple[float, str], lang: str) -> str:
    key = "target" if target[1] == "working_days" else "target_calendar_days"
    return text(key, lang).format(target=target[0])


def plot_share_within_target(
    summary: pd.DataFrame,
    procedure: str,
    scenario: Scenario | None = None,
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Share of cases completed within the target per variant, with its confidence interval.

    Args:
        summary: The summary table (`sim.analysis.summary.SUMMARY_COLUMNS`).
        procedure: The procedure id.
        scenario: The scenario (names); optional.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        rows = summary[summary["procedure"] == procedure]
        order = _variant_order(rows, scenario)
        figure, ax = _axes(ax, (7, 0.6 + 0.45 * max(len(order), 1)))
        if not order:
            _empty(ax, lang)
            return _finish(figure)
        rows = rows.set_index("variant").loc[order]
        share = _percent(rows["share_within_target"])
        error = 100 * _error(
            rows["share_within_target"],
            rows["share_within_target_low"],
            rows["share_within_target_high"],
        )
        y = np.arange(len(order))[::-1]
        colours = ["#b0a8b9" if v == "baseline" else "#3b6fb6" for v in order]
        ax.barh(y, np.nan_to_num(share), color=colours, xerr=error, capsize=3, height=0.6)
        for yy, value in zip(y, share, strict=True):
            if np.isfinite(value):
                ax.text(min(value + 1, 96), yy, f"{value:.0f}%", va="center", fontsize=8)
        ax.set_yticks(y, [wrap(variant_label(scenario, v, lang)) for v in order])
        ax.set_xlim(0, 100)
        ax.set_xlabel(text("share_points", lang))
        target = _target_of(scenario, procedure)
        title = text("share_within", lang)
        if target is not None:
            title += f" ({_target_text(target, lang)})"
        ax.set_title(title)
        return _finish(figure)


# --------------------------------------------------------------------------- reforms


def _metric_scale(metric: str) -> float:
    return 100.0 if metric.startswith("share") else 1.0


def _reform_label(row: pd.Series, lang: str) -> str:
    label = str(row["reform"])
    if has_cjk(label) and cjk_font() is None:
        return f"{row.get('reform_type', 'reform')} #{row.get('position', '')}"
    return label


def _relevant(rows: pd.DataFrame) -> np.ndarray:
    """The rows to show: those marked ``relevant`` (every row without that column)."""
    if "relevant" not in rows:
        return np.ones(len(rows), dtype=bool)
    return rows["relevant"].fillna(True).to_numpy(bool)


def plot_reforms_alone(
    contributions: pd.DataFrame,
    procedure: str,
    scenario: Scenario | None = None,
    metric: str = "share_within_target",
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Each reform of the package applied alone: its change against the baseline.

    Only the reforms marked ``relevant`` are shown (see `sim.analysis.contributions`).

    Args:
        contributions: The frame of `sim.analysis.contributions.reform_contributions`.
        procedure: The procedure id.
        scenario: The scenario (names); optional.
        metric: ``share_within_target`` (shown in points) or ``mean_days``.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        rows = contributions[
            (contributions["procedure"] == procedure) & (contributions["mode"] == "alone")
        ].sort_values("position")
        rows = rows[_relevant(rows) & np.isfinite(rows[f"{metric}_change"].to_numpy(float))]
        figure, ax = _axes(ax, (7, 0.8 + 0.4 * max(len(rows), 1)))
        scale = _metric_scale(metric)
        if rows.empty:
            _empty(ax, lang)
            return _finish(figure)
        change = scale * rows[f"{metric}_change"].to_numpy(float)
        error = scale * _error(
            rows[f"{metric}_change"], rows[f"{metric}_change_low"], rows[f"{metric}_change_high"]
        )
        better = change > 0 if metric.startswith("share") else change < 0
        y = np.arange(len(rows))[::-1]
        ax.barh(
            y,
            change,
            xerr=error,
            capsize=3,
            height=0.6,
            color=np.where(better, "#3b6fb6", "#d1495b"),
        )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(y, [wrap(_reform_label(row, lang)) for _, row in rows.iterrows()])
        ax.set_xlabel(
            text("change_share" if metric.startswith("share") else "change_mean_days", lang)
        )
        ax.set_title(text("alone", lang))
        return _finish(figure)


def plot_waterfall(
    contributions: pd.DataFrame,
    procedure: str,
    scenario: Scenario | None = None,
    metric: str = "share_within_target",
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Waterfall from the baseline to the package, adding the reforms in the package's order.

    Each bar is the step from the previous prefix of the package to the next (the
    reform's contribution given the reforms before it); the first and last bars are
    the baseline and the whole package. Reforms not marked ``relevant`` (see
    `sim.analysis.contributions`) are summed into one "other reforms" bar when they move the
    figure at all.

    Args:
        contributions: The frame of `sim.analysis.contributions.reform_contributions`.
        procedure: The procedure id.
        scenario: The scenario (names); optional.
        metric: ``share_within_target`` (in %) or ``mean_days``.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        rows = contributions[
            (contributions["procedure"] == procedure) & (contributions["mode"] == "cumulative")
        ].sort_values("position")
        figure, ax = _axes(ax, (7, 3.2))
        scale = _metric_scale(metric)
        values = scale * rows[metric].to_numpy(float)
        if rows.empty or not np.isfinite(values).any():
            _empty(ax, lang)
            return _finish(figure)
        base = scale * float(rows[f"baseline_{metric}"].iloc[0])
        final = float(values[np.isfinite(values)][-1])
        steps = np.diff(np.concatenate([[base], values]))
        keep = _relevant(rows)
        labels = [text("baseline", lang)]
        labels += [wrap(_reform_label(r, lang), 20) for _, r in rows[keep].iterrows()]
        shown = list(steps[keep])
        other = final - base - float(np.nansum(shown))
        if abs(other) > 1e-9 * max(1.0, abs(final)):
            labels.append(text("other_reforms", lang))
            shown.append(other)
        labels.append(text("package", lang))
        levels = base + np.concatenate([[0.0], np.nancumsum(shown)])
        x = np.arange(len(labels))
        ax.bar(x[0], base, color="#b0a8b9", width=0.6)
        higher_is_better = metric.startswith("share")
        for i, step in enumerate(shown, start=1):
            if not np.isfinite(step):
                continue
            good = step >= 0 if higher_is_better else step <= 0
            ax.bar(
                x[i],
                step,
                bottom=levels[i - 1],
                color="#3b6fb6" if good else "#d1495b",
                width=0.6,
            )
            ax.plot([x[i - 1] - 0.3, x[i] + 0.3], [levels[i - 1]] * 2, color="grey", lw=0.6)
            sign = "+" if step >= 0 else ""
            ax.text(
                x[i],
                max(levels[i - 1], levels[i]),
                f"{sign}{step:.0f}" if scale == 100 else f"{sign}{step:.1f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        levels = np.append(levels, final)
        ax.bar(x[-1], levels[-1], color="#1f3f73", width=0.6)
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylabel(text("share_points" if higher_is_better else "mean_days", lang))
        if higher_is_better:
            ax.set_ylim(0, 100)
        ax.set_title(text("waterfall", lang))
        return _finish(figure)


# --------------------------------------------------------------------------- the median case


def plot_gantt(
    timeline: pd.DataFrame,
    ax: Axes | None = None,
    lang: str = "zh",
    title: str | None = None,
    colours: dict[str, Any] | None = None,
) -> Figure:
    """Gantt chart of one case: its steps over time, coloured by agency (see the legend).

    Handling is drawn solid, queueing lighter, waiting lighter still; segments off the
    legal approval clock are hatched, the applicant's corrections are red; segments on
    the critical path have a black edge and their step a ``▶`` mark. The bottom line is
    the approval clock (the union of the on-clock segments), with its total in days.

    Args:
        timeline: The frame of `sim.analysis.casepath.case_timeline`.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.
        title: Title of the chart.
        colours: Agency id to colour (default `agency_colours` of the agencies shown).

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        lines = timeline.drop_duplicates("row").sort_values("row") if len(timeline) else timeline
        figure, ax = _axes(ax, (9, 1.6 + 0.3 * (len(lines) + 1)))
        if len(timeline) == 0:
            _empty(ax, lang)
            return _finish(figure)
        colours = colours or agency_colours(timeline["agency"])
        count = len(lines)
        y_of = {row: count - i for i, row in enumerate(lines["row"])}
        critical_rows = set(timeline.loc[timeline["critical"], "row"])
        for segment in timeline.itertuples(index=False):
            y = y_of[segment.row]
            width = segment.end - segment.start
            colour = (
                colours.get(segment.agency.split("+")[0], "#888888")
                if segment.agency
                else "#888888"
            )
            alpha = {"handling": 1.0, "queue": 0.55, "waiting": 0.35}.get(segment.kind, 1.0)
            face = KIND_COLOURS[segment.kind] if segment.kind in ("correction", "delay") else colour
            height = 0.62 if segment.kind == "handling" else 0.45
            ax.barh(
                y,
                max(width, 0.02),
                left=segment.start,
                height=height,
                color=face,
                alpha=alpha,
                hatch=None if segment.on_clock else "////",
                edgecolor="black" if segment.critical else "none",
                linewidth=0.9 if segment.critical else 0,
            )
        intervals = sorted((s.start, s.end) for s in timeline.itertuples(index=False) if s.on_clock)
        merged: list[list[float]] = []
        for start, end in intervals:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            ax.barh(0, end - start, left=start, height=0.35, color="#333333")
        clock_days = sum(end - start for start, end in merged)
        labels = []
        for row in lines.itertuples(index=False):
            name = pick(row.step_zh, row.step_en, lang, row.step)
            labels.append(wrap(f"▶ {name}" if row.row in critical_rows else name, 36, 2))
        clock_label = f"{text('clock', lang)} ({clock_days:.1f})"
        ax.set_yticks([y_of[r] for r in lines["row"]] + [0], labels + [clock_label])
        ax.set_ylim(-0.6, count + 0.6)
        ax.set_xlim(left=0)
        ax.set_xlabel(text("days_from_arrival", lang))
        shown = list(dict.fromkeys(a.split("+")[0] for a in timeline["agency"] if a))
        names = {
            row.agency.split("+")[0]: pick(row.agency_zh, row.agency_en, lang, row.agency).split(
                "+"
            )[0]
            for row in timeline.itertuples(index=False)
            if row.agency
        }
        handles = [Patch(color=colours.get(a, "#888888"), label=names.get(a, a)) for a in shown]
        handles.append(
            Patch(facecolor="white", edgecolor="grey", hatch="////", label=text("off_clock", lang))
        )
        for kind in ("correction", "delay"):
            if (timeline["kind"] == kind).any():
                handles.append(Patch(facecolor=KIND_COLOURS[kind], label=text(kind, lang)))
        handles.append(Patch(facecolor="white", edgecolor="black", label=text("critical", lang)))
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=7,
            frameon=False,
        )
        if title:
            ax.set_title(title)
        return _finish(figure)


# --------------------------------------------------------------------------- the slow tail


def plot_tail_drivers(
    drivers: pd.DataFrame,
    ax: Axes | None = None,
    lang: str = "zh",
    top: int = 10,
    title: str | None = None,
) -> Figure:
    """Where the slowest cases spend their time: critical-path days per step and kind.

    Args:
        drivers: The frame of `sim.analysis.casepath.tail_drivers` (one variant).
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.
        top: How many steps to show (those with the most days).
        title: Title of the chart.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        shown = len(drivers.drop_duplicates(["step", "agency"])) if len(drivers) else 1
        figure, ax = _axes(ax, (7, 1.0 + 0.35 * min(top, shown)))
        if len(drivers) == 0:
            _empty(ax, lang)
            return _finish(figure)
        per_step = drivers.groupby(["step", "agency"], sort=False)["tail_days"].sum()
        chosen = per_step.sort_values(ascending=False).head(top)
        y = np.arange(len(chosen))[::-1]
        left = np.zeros(len(chosen))
        for kind in ("queue", "handling", "waiting", "correction", "delay"):
            rows = drivers[drivers["kind"] == kind].set_index(["step", "agency"])["tail_days"]
            values = rows.reindex(chosen.index).fillna(0.0).to_numpy(float)
            if values.any():
                ax.barh(
                    y,
                    values,
                    left=left,
                    color=KIND_COLOURS[kind],
                    height=0.6,
                    label=text(kind, lang),
                )
            left += values
        names = drivers.drop_duplicates(["step", "agency"]).set_index(["step", "agency"])
        labels = []
        for step, agency in chosen.index:
            row = names.loc[(step, agency)]
            labels.append(
                wrap(
                    f"{pick(row['step_zh'], row['step_en'], lang, step)} · "
                    f"{pick(row['agency_zh'], row['agency_en'], lang, agency)}",
                    36,
                    2,
                )
            )
        ax.set_yticks(y, labels)
        ax.set_xlabel(text("tail_days", lang))
        ax.legend(loc="lower right", fontsize=7, frameon=False)
        if title:
            ax.set_title(title)
        return _finish(figure)


# --------------------------------------------------------------------------- agencies


def _agency_bars(
    agencies: pd.DataFrame,
    scenario: Scenario | None,
    column: str,
    ax: Axes | None,
    lang: str,
    xlabel: str,
    line: float | None,
) -> Figure:
    """A dot plot: one line per agency, one marker (with its interval) per variant."""
    rows = agencies[np.isfinite(agencies[column].to_numpy(float))]
    order = _variant_order(rows, scenario) if len(rows) else []
    names = list(dict.fromkeys(rows["agency"]))
    figure, ax = _axes(ax, (7, 1.4 + 0.3 * max(len(names), 1) + 0.15 * len(order)))
    if rows.empty:
        _empty(ax, lang)
        return figure
    spread = min(0.6, 0.15 * len(order))
    offsets = np.linspace(spread / 2, -spread / 2, len(order)) if len(order) > 1 else [0.0]
    colours = matplotlib.colormaps["tab10"].colors
    base = np.arange(len(names))[::-1].astype(float)
    for j, variant in enumerate(order):
        part = rows[rows["variant"] == variant].set_index("agency").reindex(names)
        y = base + offsets[j]
        values = part[column].to_numpy(float)
        low = part.get(f"{column}_low", part[column]).clip(lower=0)
        high = part.get(f"{column}_high", part[column])
        ax.errorbar(
            values,
            y,
            xerr=_error(values, low, high),
            fmt="o",
            markersize=4,
            capsize=2,
            elinewidth=0.8,
            color=colours[j % len(colours)],
            label=wrap(variant_label(scenario, variant, lang), 36),
        )
        overloaded = part["overloaded"].fillna(False).to_numpy(bool)
        for yy, value, flag in zip(y, values, overloaded, strict=True):
            if flag and np.isfinite(value):
                ax.text(value, yy, " ⚠", va="center", color="#d1495b", fontsize=8)
    for position in base[:-1]:
        ax.axhline(position - 0.5, color="#e5e5e5", linewidth=0.6, zorder=0)
    if line is not None:
        ax.axvline(line, color="#d1495b", linestyle="--", linewidth=1)
    ax.set_yticks(base, [wrap(agency_label(scenario, a, lang), 24) for a in names])
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    return figure


def plot_agency_utilisation(
    agencies: pd.DataFrame,
    scenario: Scenario | None = None,
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Staff utilisation of every agency with limited staff, per variant (⚠: overloaded).

    Args:
        agencies: The agency table (`sim.analysis.agencies.AGENCY_COLUMNS`).
        scenario: The scenario (names); optional.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        figure = _agency_bars(
            agencies, scenario, "utilisation", ax, lang, text("utilisation", lang), 1.0
        )
        figure.axes[0].set_title(text("utilisation", lang))
        return _finish(figure)


def plot_agency_queues(
    agencies: pd.DataFrame,
    scenario: Scenario | None = None,
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Mean queue (working days waiting for staff) per agency and variant (⚠: overloaded).

    Args:
        agencies: The agency table (`sim.analysis.agencies.AGENCY_COLUMNS`).
        scenario: The scenario (names); optional.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        figure = _agency_bars(
            agencies, scenario, "mean_queue_days", ax, lang, text("queue_days", lang), None
        )
        figure.axes[0].set_title(text("queue_days", lang))
        return _finish(figure)


# --------------------------------------------------------------------------- fit report

_FIT_STYLE = {
    "records": {"color": "black", "linewidth": 1.6},
    "simulated": {"color": "#3b6fb6", "linewidth": 1.6},
    "naive": {"color": "#9a9a9a", "linewidth": 1.2, "linestyle": "--"},
}


def plot_fit_cycle_times(
    samples: dict[str, np.ndarray],
    unit: str = "working_days",
    target: float | None = None,
    ax: Axes | None = None,
    lang: str = "zh",
) -> Figure:
    """Cycle-time distribution functions: held-back records, simulation, naive predictor.

    Args:
        samples: ``records``, ``simulated``, ``naive`` (and ``..._calendar``) cycle times,
            as `sim.analysis.calibration.evaluation.Evaluation.samples` holds them.
        unit: ``working_days`` or ``calendar_days``.
        target: A target to mark (working days only).
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    suffix = "" if unit == "working_days" else "_calendar"
    with _style(lang):
        figure, ax = _axes(ax, (7, 3.2))
        drawn = False
        for name in ("naive", "simulated", "records"):
            values = np.sort(np.asarray(samples.get(name + suffix, []), dtype=float))
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            share = np.arange(1, values.size + 1) / values.size
            label = f"{text('fit_' + name, lang)} (n = {values.size})"
            ax.step(values, share, where="post", label=label, **_FIT_STYLE[name])
            drawn = True
        if not drawn:
            _empty(ax, lang)
            return _finish(figure)
        if target is not None and unit == "working_days":
            ax.axvline(
                target,
                color="#d1495b",
                linestyle=":",
                linewidth=1.2,
                label=text("target", lang).format(target=target),
            )
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_ylabel(text("fit_share_cases", lang))
        key = "fit_cycle_working" if unit == "working_days" else "fit_cycle_calendar"
        ax.set_xlabel(text(key, lang))
        ax.legend(loc="lower right", fontsize=7, frameon=False)
        return _finish(figure)


def plot_fit_steps(steps: pd.DataFrame, ax: Axes | None = None, lang: str = "zh") -> Figure:
    """Each step's median time from ready to done with its interval: records, simulated, naive.

    Args:
        steps: `sim.analysis.calibration.evaluation.Evaluation.steps`.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        figure, ax = _axes(ax, (7, 0.8 + 0.45 * max(len(steps), 1)))
        if steps.empty:
            _empty(ax, lang)
            return _finish(figure)
        rows = np.arange(len(steps))[::-1]
        for shift, name in ((0.22, "records"), (0.0, "simulated"), (-0.22, "naive")):
            median = steps[f"{name}_median"].to_numpy(float)
            error = _error(median, steps[f"{name}_median_low"], steps[f"{name}_median_high"])
            style = _FIT_STYLE[name]
            ax.errorbar(
                median,
                rows + shift,
                xerr=error,
                fmt="o",
                markersize=3.5,
                color=style["color"],
                elinewidth=1,
                capsize=2,
                label=text("fit_" + name, lang),
            )
        labels = [
            wrap(pick(n, n, lang, s)) for n, s in zip(steps["name"], steps["step"], strict=True)
        ]
        ax.set_yticks(rows, labels)
        ax.set_xlim(left=0)
        ax.set_xlabel(text("fit_step_days", lang))
        ax.legend(loc="best", fontsize=7, frameon=False)
        return _finish(figure)


def plot_fit_arrivals(arrivals: pd.DataFrame, ax: Axes | None = None, lang: str = "zh") -> Figure:
    """Cases arrived so far, week by week of the held-back period: records, simulated, naive.

    Args:
        arrivals: `sim.analysis.calibration.evaluation.Evaluation.arrivals`.
        ax: Axes to draw into; None makes a new figure.
        lang: ``zh`` or ``en``.

    Returns:
        The figure.
    """
    lang = effective_lang(lang)
    with _style(lang):
        figure, ax = _axes(ax, (7, 2.8))
        if arrivals.empty:
            _empty(ax, lang)
            return _finish(figure)
        weeks = pd.to_datetime(arrivals["week"]).to_numpy()
        low = arrivals["simulated_cumulative_low"].to_numpy(float)
        high = arrivals["simulated_cumulative_high"].to_numpy(float)
        if np.isfinite(low).any():
            ax.fill_between(
                weeks, np.maximum(low, 0), high, color="#8fb3de", alpha=0.5, step="post"
            )
        for name, column in (
            ("naive", "naive_cumulative"),
            ("simulated", "simulated_cumulative"),
            ("records", "records_cumulative"),
        ):
            ax.step(
                weeks,
                arrivals[column],
                where="post",
                label=text("fit_" + name, lang),
                **_FIT_STYLE[name],
            )
        ax.set_ylim(bottom=0)
        ax.set_xlabel(text("fit_week", lang))
        ax.set_ylabel(text("fit_cases_so_far", lang))
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        figure.autofmt_xdate()
        return _finish(figure)


# --------------------------------------------------------------------------- export


def to_svg(figure: Figure, prefix: str = "") -> str:
    """The figure as an inline SVG element (no XML prolog, no external references).

    Text is drawn as paths (the fonts are embedded as glyph outlines), so the SVG shows
    the same on a machine without the CJK font. Element ids are prefixed with
    ``prefix`` so that several SVGs can share one HTML page.

    Args:
        figure: The figure.
        prefix: Prefix of the element ids (letters, digits, ``-``).

    Returns:
        The ``<svg>`` element as text.
    """
    buffer = io.StringIO()
    with _style("zh" if cjk_font() is not None else "en"):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    if prefix:
        svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', svg)
        svg = re.sub(r'(xlink:href|href)="#([^"]+)"', rf'\1="#{prefix}\2"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", svg)
    svg = re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        r'<svg\1 class="figure" role="img"',
        svg,
        count=1,
    )
    return svg
