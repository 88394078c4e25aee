"""From case records to a fitted procedure and scenario (see docs/calibration.md).

The records of the chosen period are put on the working-day clock of the chosen calendar;
cases are ordered by their first event and the latest ``test_share`` of them are held
back for the fit report. From the training cases come the structure (discovered, or a
given procedure file's), each step's numbers, the arrival rate, the case attributes,
the staff of each agency and the target; they are written as a procedure and a scenario
mapping, validated by the loader like any file, and resolved into a runnable scenario
that starts where the held-back period starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration import discovery, timeline
from sim.analysis.calibration.demand import (
    ArrivalFit,
    deadline_target,
    fit_arrivals,
    fit_attributes,
)
from sim.analysis.calibration.discovery import Structure, identifier
from sim.analysis.calibration.period import (
    end_steps,
    on_clock,
    open_cases,
    records_calendar,
    select_period,
    split_cases,
)
from sim.analysis.calibration.spec import (
    Comments,
    Provenance,
    agency_entries,
    discovered_procedure,
    refitted_procedure,
    route_attribute,
    scenario_mapping,
    scenario_period,
)
from sim.analysis.calibration.steps import StepFit, fit_steps
from sim.domain.calendar import DayRule, WorkingCalendar
from sim.domain.errors import InputError
from sim.domain.model import Procedure, Scenario
from sim.domain.suggest import did_you_mean
from sim.inputs.loader import procedure_from_data, scenario_from_data
from sim.inputs.records import RecordSet
from sim.reforms import resolve


@dataclass(frozen=True)
class Settings:
    """What to fit and how.

    Attributes:
        since: First day of the trusted period (cases starting earlier are left out).
        until: Last day of it.
        test_share: Share of the latest cases held back for the fit report.
        rule: The working-day calendar of the records.
        criterion: ``aic`` or ``bic``.
        seed: Seed of the bootstrap and of the fitted scenario.
        replications: Replications of the fitted scenario (and of the fit report).
        resamples: Bootstrap resamples of each fit.
        procedure: A procedure whose numbers to fit (None: discover the structure).
        mapping: Record step name to step id of ``procedure``.
        mapping_file: Where the mapping came from (for messages).
        matter: The procedure (事项) to fit when the records hold several.
        staff: Stated staff by agency (id or recorded name), instead of the fitted.
    """

    since: dt.date | None = None
    until: dt.date | None = None
    test_share: float = 0.3
    rule: DayRule = field(default_factory=DayRule)
    criterion: str = "aic"
    seed: int = 20250101
    replications: int = 10
    resamples: int = 200
    procedure: Procedure | None = None
    mapping: dict[str, str] | None = None
    mapping_file: Path | None = None
    matter: str | None = None
    staff: dict[str, int] | None = None


@dataclass(frozen=True)
class Calibration:
    """A fitted procedure and scenario with everything the fit report needs.

    Attributes:
        records: The records read.
        settings: How they were fitted.
        calendar: The records' working-day calendar (covers the whole export).
        frame: Every execution of the period on the clock (``case``, ``step`` id,
            ``start``, ``end``, ``agency``, ``begin``, ``attempt``).
        cases: One row a case of the period (`timeline.case_table`, plus ``test`` and
            ``open``).
        structure: The structure fitted.
        steps: The fits by step id.
        arrivals: The arrival fit.
        staff: Agency to its fitted staff (None: unlimited).
        procedure: The fitted procedure.
        scenario: The fitted scenario (resolved).
        procedure_data: The procedure file's mapping.
        scenario_data: The scenario file's mapping.
        comments: Comments of the two mappings (``procedure`` and ``scenario``).
        split: Clock of the first held-back case's first event.
        export_end: Clock of the last event of the export.
        end_steps: Steps that can end a case (the open-case rule).
        findings: Counts of suspicious records and of what was left out.
        notes: Plain sentences about what was assumed or left out.
    """

    records: RecordSet
    settings: Settings
    calendar: WorkingCalendar
    frame: pd.DataFrame
    cases: pd.DataFrame
    structure: Structure
    steps: dict[str, StepFit]
    arrivals: ArrivalFit
    staff: dict[str, int | None]
    procedure: Procedure
    scenario: Scenario
    procedure_data: dict[str, Any]
    scenario_data: dict[str, Any]
    comments: dict[str, Comments]
    split: float
    export_end: float
    end_steps: frozenset[str]
    findings: dict[str, int]
    notes: tuple[str, ...] = ()

    @property
    def training(self) -> pd.DataFrame:
        """The training cases."""
        return self.cases[~self.cases["test"]]

    @property
    def test(self) -> pd.DataFrame:
        """The held-back cases."""
        return self.cases[self.cases["test"]]

    def date(self, clock: float) -> dt.date:
        """The date of a clock value of the records' calendar."""
        return self.calendar.date_of(min(max(clock, 0.0), len(self.calendar) - 1))


# --------------------------------------------------------------------------- the period


def _choose_matter(records: RecordSet, matter: str | None) -> pd.DataFrame:
    executions = records.executions
    if "procedure" not in records.cases:
        if matter is not None:
            raise InputError(
                "--matter names a procedure, but the records have no procedure column",
                file=records.file,
            )
        return executions
    per_case = records.cases["procedure"]
    counts = per_case[per_case != ""].value_counts()
    if matter is None:
        if len(counts) <= 1:
            return executions
        listing = ", ".join(f"'{name}' ({count} cases)" for name, count in counts.head(8).items())
        raise InputError(
            f"the records hold {len(counts)} procedures (column '{records.columns['procedure']}'): "
            f"{listing}; choose one with --matter",
            file=records.file,
        )
    if matter not in counts.index:
        raise InputError(
            f"no procedure '{matter}' in the records" + did_you_mean(matter, list(counts.index)),
            file=records.file,
        )
    keep = per_case.index[per_case == matter]
    return executions[executions["case"].isin(keep)]


def _agencies(executions: pd.DataFrame) -> tuple[dict[str, str], dict[str, str], str]:
    """Record step name to agency id, agency id to its name, and how they were found.

    The agency column when there is one; else the resource column when every step is
    always done by one resource (as in this project's own event logs, whose resource is
    the agency); else each step its own desk.
    """
    taken: set[str] = set()
    names: dict[str, str] = {}
    by_value: dict[str, str] = {}

    def agency_of(value: str) -> str:
        if value not in by_value:
            by_value[value] = identifier(value, taken, "agency")
            names[by_value[value]] = value
        return by_value[value]

    steps = list(pd.unique(executions["step"]))
    stated = executions[executions["agency"] != ""]
    if not stated.empty:
        usual = stated.groupby("step")["agency"].agg(lambda v: v.value_counts().index[0])
        found = {
            step: agency_of(usual[step]) if step in usual.index else agency_of(step)
            for step in steps
        }
        return found, names, "the agency column"
    resources = executions[executions["resource"] != ""].groupby("step")["resource"].nunique()
    if len(resources) == len(steps) and (resources == 1).all():
        single = executions[executions["resource"] != ""].groupby("step")["resource"].first()
        return (
            {step: agency_of(single[step]) for step in steps},
            names,
            "the resource column (one resource a step)",
        )
    return (
        {step: agency_of(step) for step in steps},
        names,
        "none recorded: each step its own agency",
    )


# --------------------------------------------------------------------------- calibrate


def calibrate_records(
    records: RecordSet, settings: Settings, folder: Path | str = "."
) -> Calibration:
    """Fit a procedure and scenario to records (module doc).

    Args:
        records: The records (`sim.inputs.records.read_records`).
        settings: What to fit and how.
        folder: Where the fitted files are to be written (their paths in the objects).

    Raises:
        InputError: Too few cases, a period without cases, a calendar that does not cover
            the records, a procedure none of whose steps the records have, or fitted
            files that do not validate.
    """
    file = records.file
    executions = _choose_matter(records, settings.matter)
    calendar = records_calendar(executions, settings.rule, file)
    agencies, agency_names, agency_basis = _agencies(executions)
    # A resource column that names the agencies says nothing about how many people work.
    people = not agency_basis.startswith("the resource column")
    frame = on_clock(executions, calendar, agencies, people)
    export_end = float(frame["end"].max())
    cases = select_period(
        timeline.case_table(frame), settings.since, settings.until, calendar, file
    )
    frame = frame[frame["case"].isin(cases.index)].reset_index(drop=True)
    cases, split = split_cases(cases, settings.test_share, file)
    ends = end_steps(frame, cases[~cases["test"]], export_end)
    status = records.cases["status"] if "status" in records.cases else None
    cases["open"] = open_cases(cases, ends, status)
    training = cases[~cases["test"]]
    train_frame = frame[frame["case"].isin(training.index)]
    notes = [f"agencies: {agency_basis}"]
    if settings.procedure is None:
        structure = discovery.discover(
            train_frame, training.index[~training["open"]], agencies, agency_names
        )
    else:
        structure = discovery.match_procedure(
            settings.procedure,
            list(pd.unique(frame["step"])),
            settings.mapping,
            settings.mapping_file,
        )
    # From here on steps are ids; steps the structure leaves out are dropped.
    frame = _with_ids(frame, structure)
    ends = frozenset(structure.step_of_name[n] for n in ends if n in structure.step_of_name)
    train_frame = frame[frame["case"].isin(training.index)]
    if train_frame.empty:
        raise InputError("the training cases have no step the procedure has", file=file)
    if settings.procedure is not None:
        agency_of = structure.agencies
        train_frame = train_frame.assign(agency=train_frame["step"].map(agency_of))
        frame = frame.assign(agency=frame["step"].map(agency_of))
    ready, deviations = timeline.ready_times(train_frame, structure.ancestors(), training["first"])
    timed = bool(train_frame["start"].notna().any())
    staff: dict[str, int | None] = {}
    agency_ids = sorted(set(structure.agencies.values()))
    peaks = timeline.peak_staff(train_frame) if timed else {}
    # One execution holds one staff member in the engine: staff are the files in hand at
    # once. Fewer people busy at once means they work on several files at a time.
    people = timeline.peak_staff(train_frame, people=True) if timed else {}
    for agency, count in people.items():
        if count < peaks.get(agency, 0):
            notes.append(
                f"{agency}: at most {count} people busy at once but {peaks[agency]} files in "
                "hand: people work on several files at a time; staff count files in hand"
            )
    for agency in agency_ids:
        staff[agency] = max(peaks.get(agency, 0), 1) if timed and agency in peaks else None
    stated = _stated_staff(settings.staff, agency_ids, agency_names, notes)
    staff.update(stated)
    queue = (
        timeline.queue_parts(train_frame, ready, staff)
        if timed
        else pd.Series(0.0, index=train_frame.index)
    )
    fits = fit_steps(
        train_frame,
        ready,
        queue,
        structure.names,
        deviations,
        settings.seed,
        settings.criterion,
        settings.resamples,
    )
    first_day = calendar.date_of(float(training["first"].min()))
    last_day = calendar.date_of(float(training["last"].max()))
    provenance = Provenance(file.name, len(training), f"{first_day} to {last_day}")
    arrivals = fit_arrivals(
        training["first"].to_numpy(float), float(training["first"].min()), split, calendar
    )
    attribute_cases = records.cases.reindex(training.index)
    rng = np.random.default_rng([settings.seed, 10_000])
    procedure_data, procedure_comments = _procedure_data(
        records, settings, structure, fits, attribute_cases, training, provenance, rng, notes
    )
    procedure_id = procedure_data["id"]
    folder = Path(folder)
    procedure_path = folder / f"{procedure_id}.yaml"
    procedure = procedure_from_data(procedure_data, procedure_path)
    calendar_entry, horizon, description = scenario_period(
        calendar,
        settings.rule,
        cases,
        split,
        export_end,
        any(v is not None for v in staff.values()),
    )
    scenario_data = scenario_mapping(
        name=f"calibrated_{procedure_id}"[:64],
        title=f"Fitted from {provenance.file} ({provenance.cases} cases, {provenance.period})",
        procedure_id=procedure_id,
        arrivals=(arrivals.rate, arrivals.source(provenance)),
        agencies=agency_entries(
            structure, staff, agency_names, provenance, timed, agency_basis, stated
        ),
        calendar=calendar_entry,
        horizon=horizon,
        seed=settings.seed,
        replications=settings.replications,
        description=description,
    )
    scenario = resolve(
        scenario_from_data(
            scenario_data, folder / f"calibrated_{procedure_id}.yaml", {procedure_id: procedure}
        )
    )
    findings = dict(records.findings)
    findings.update(
        cases=len(cases),
        training_cases=len(training),
        test_cases=int(cases["test"].sum()),
        open_cases=int(cases["open"].sum()),
        order_deviations=int(sum(deviations.values())),
        folded_route_cases=structure.folded,
        steps_left_out=len(structure.dropped),
    )
    return Calibration(
        records=records,
        settings=settings,
        calendar=calendar,
        frame=frame,
        cases=cases,
        structure=structure,
        steps=fits,
        arrivals=arrivals,
        staff=staff,
        procedure=procedure,
        scenario=scenario,
        procedure_data=procedure_data,
        scenario_data=scenario_data,
        comments={"procedure": procedure_comments, "scenario": {}},
        split=split,
        export_end=export_end,
        end_steps=ends,
        findings=findings,
        notes=tuple(notes),
    )


def _stated_staff(
    stated: dict[str, int] | None, ids: list[str], names: dict[str, str], notes: list[str]
) -> dict[str, int]:
    """Staff the user states (``--staff``), by agency id or recorded name.

    Raises:
        InputError: An agency the fitted scenario does not have, or a count below 1.
    """
    found: dict[str, int] = {}
    by_name = {name: agency for agency, name in names.items()}
    for key, count in (stated or {}).items():
        agency = key if key in ids else by_name.get(key)
        if agency not in ids:
            known = sorted(set(ids) | {names.get(a, a) for a in ids})
            raise InputError(
                f"--staff names the agency '{key}', which the records do not have"
                + did_you_mean(key, known, "known")
            )
        if count < 1:
            raise InputError(f"--staff gives {key} {count} staff; give at least 1")
        found[agency] = count
        notes.append(f"staff of {agency}: {count}, as stated (--staff)")
    return found


def _with_ids(frame: pd.DataFrame, structure: Structure) -> pd.DataFrame:
    ids = structure.step_of_name
    kept = frame[frame["step"].isin(ids)]
    return kept.assign(step=kept["step"].map(ids)).reset_index(drop=True)


def _procedure_data(
    records, settings, structure, fits, attribute_cases, training, provenance, rng, notes
):
    if settings.procedure is not None:
        from sim.inputs.yaml import read_yaml

        original = read_yaml(Path(settings.procedure.file))
        data, comments = refitted_procedure(original, structure, fits, provenance)
        if structure.dropped:
            notes.append(
                "record steps matching no step of the procedure: " + ", ".join(structure.dropped)
            )
        missing = [s for s in structure.ids if s not in fits]
        if missing:
            notes.append(
                "procedure steps the records do not have (numbers kept): " + ", ".join(missing)
            )
        return data, comments
    attributes, comments, _ = fit_attributes(
        attribute_cases, list(records.attributes), provenance, rng, settings.criterion
    )
    route = route_attribute(structure, provenance)
    if route is not None:
        attributes.append(route)
    target = _target(records, training, provenance)
    name = _procedure_name(records, settings)
    taken: set[str] = set()
    procedure_id = identifier(name, taken, "procedure")
    if structure.dropped:
        notes.append("steps only rare routes take, left out: " + ", ".join(structure.dropped))
    data, step_comments = discovered_procedure(
        procedure_id, name, structure, fits, attributes, target, provenance
    )
    # Attribute comments point into the attribute list, step comments into the steps.
    comments.update(step_comments)
    return data, comments


def _procedure_name(records: RecordSet, settings: Settings) -> str:
    if settings.matter:
        return settings.matter
    if "procedure" in records.cases:
        named = records.cases["procedure"][records.cases["procedure"] != ""]
        if len(named):
            return str(named.iloc[0])
    return records.file.stem.split(".")[0]


def _target(
    records: RecordSet, training: pd.DataFrame, provenance: Provenance
) -> tuple[float, str]:
    if "deadline_days" in records.cases:
        found = deadline_target(records.cases["deadline_days"].reindex(training.index), provenance)
        if found is not None:
            return found
    closed = training[~training["open"]]["cycle"]
    value = float(np.quantile(closed, 0.9)) if len(closed) else 1.0
    return max(value, 0.01), (
        "assumption: the records name no deadline; the target is set to the training cases' "
        f"90th percentile cycle time ({provenance.file}, {len(closed)} closed cases)"
    )
