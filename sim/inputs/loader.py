"""Read procedure and scenario files into model objects, validating them once.

Every problem becomes one `InputError` naming the file, the line and the field: YAML
syntax and limits (`sim.inputs.yaml`), shapes and ranges (`sim.inputs.schema`),
distribution parameters, and cross-references (steps in ``after:``, agencies,
conditions, cycles). A scenario read here has its variants as written; applying their
reforms is `sim.reforms.resolve` (`sim.load_scenario` does both).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.domain import distributions
from sim.domain.calendar import CalendarError, DayRule, WorkingCalendar, check_country
from sim.domain.conditions import (
    RESERVED_WORDS,
    ConditionError,
    compile_condition,
    declared_values,
)
from sim.domain.errors import InputError
from sim.domain.model import (
    CALENDAR_DAYS,
    WORKING_DAYS,
    Agency,
    Attribute,
    Counting,
    Demand,
    Horizon,
    Material,
    Name,
    Procedure,
    ReformSpec,
    Scenario,
    SendBack,
    Step,
    Variant,
)
from sim.domain.suggest import did_you_mean
from sim.inputs.overrides import load_overrides
from sim.inputs.schema import FixedTimeSpec, ProcedureSpec, ScenarioSpec
from sim.inputs.validation import validated
from sim.inputs.yaml import field_path, line_of, read_yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = PROJECT_ROOT / "scenarios" / "demo.yaml"
# Expected arrivals per replication and variant (arrivals a day times arrival days) past
# which the number is a unit mistake (a yearly count written as a daily one): no machine
# holds such a run. Below it, a run is refused only when it would not fit in the
# machine's memory (`sim.run.limits.check_run`, estimated before it runs).
MAX_CASES = 1_000_000_000


def _distribution(spec: Any, data: Any, path: Path, loc: tuple[Any, ...]):
    try:
        return distributions.from_spec(spec)
    except distributions.DistributionSpecError as error:
        full = (*loc, error.field) if error.field else loc
        raise InputError(
            str(error), file=path, line=line_of(data, full), field=field_path(full)
        ) from None


def _condition(text: str, attributes, data: Any, path: Path, loc: tuple[Any, ...]):
    kinds = {attribute.id: attribute.kind for attribute in attributes}
    line, field = line_of(data, loc), field_path(loc)
    try:
        condition = compile_condition(text, kinds, declared_values(attributes))
    except ConditionError as error:
        raise InputError(error.message, file=path, line=line, field=field) from None
    return condition.placed(path, line, field)


def load_procedure(path: Path) -> Procedure:
    """Load and validate a procedure file."""
    path = Path(path)
    return procedure_from_data(read_yaml(path), path)


def procedure_from_data(data: Any, path: Path) -> Procedure:
    """Validate a procedure given as parsed data (a file's content, or made in memory).

    Args:
        data: The mapping a procedure file holds.
        path: The file it is (or will be) written to, for messages and ``Procedure.file``.
    """
    return _build_procedure(validated(ProcedureSpec, data, path), data, Path(path))


def _build_procedure(spec: ProcedureSpec, data: Any, path: Path) -> Procedure:
    def fail(message: str, loc: tuple[Any, ...]) -> InputError:
        return InputError(message, file=path, line=line_of(data, loc), field=field_path(loc))

    attributes = []
    for index, attribute in enumerate(spec.attributes):
        loc = ("attributes", index)
        values = tuple(attribute.shares) if attribute.shares else ()
        attributes.append(
            Attribute(
                id=attribute.id,
                kind=attribute.kind,
                values=values,
                shares=tuple(attribute.shares.values()) if attribute.shares else (),
                probability=attribute.probability or 0.0,
                distribution=(
                    _distribution(attribute.distribution, data, path, (*loc, "distribution"))
                    if attribute.distribution is not None
                    else None
                ),
                source=attribute.source,
            )
        )
    _unique([a.id for a in spec.attributes], "attributes", "attribute", fail)
    _unique([s.id for s in spec.steps], "steps", "step", fail)
    for index, attribute in enumerate(attributes):
        if attribute.id in RESERVED_WORDS:
            raise fail(
                f"an attribute cannot be named '{attribute.id}': it is a word of the "
                f"condition language ({', '.join(sorted(RESERVED_WORDS))}); rename it, "
                f"e.g. 'is_{attribute.id}'",
                ("attributes", index, "id"),
            )
    known = {step.id for step in spec.steps}
    steps = []
    for index, step in enumerate(spec.steps):
        loc = ("steps", index)
        for position, before in enumerate(step.after):
            if before == step.id:
                raise fail(f"step '{step.id}' waits on itself", (*loc, "after", position))
            if before not in known:
                raise fail(
                    f"unknown step '{before}' in `after:`" + did_you_mean(before, sorted(known)),
                    (*loc, "after", position),
                )
        _unique([m.id for m in step.materials], (*loc, "materials"), "material", fail)
        defective = any(m.probability_defective > 0 for m in step.materials)
        if defective and step.send_back is None:
            raise fail(
                "materials can be defective but the step has no `send_back:` "
                "(say how long the applicant takes to correct and how often they may resubmit)",
                loc,
            )
        send_back = None
        if step.send_back is not None:
            send_back = SendBack(
                response=_distribution(
                    step.send_back.response, data, path, (*loc, "send_back", "response")
                ),
                max_resubmissions=step.send_back.max_resubmissions,
            )
        steps.append(
            Step(
                id=step.id,
                name=Name(step.name.zh, step.name.en),
                agency=step.agency,
                handling=_distribution(step.handling, data, path, (*loc, "handling")),
                waiting=_distribution(step.waiting, data, path, (*loc, "waiting")),
                after=tuple(step.after),
                materials=tuple(
                    Material(
                        m.id, m.name, m.kind, m.probability_defective, m.probability_still_defective
                    )
                    for m in step.materials
                ),
                send_back=send_back,
                trips=step.trips,
                fees_cny=step.fees_cny,
                certificates=step.certificates,
                handling_on_clock=step.handling_on_clock,
                waiting_on_clock=step.waiting_on_clock,
                online=step.online,
                when=(
                    _condition(step.when, attributes, data, path, (*loc, "when"))
                    if step.when is not None
                    else None
                ),
                source=step.source,
                fixed_days=_fixed_days(step.fixed_days),
                fixed_unit=_fixed_unit(step.fixed_days),
                waiting_unit=step.waiting_unit,
                counted=not step.not_a_procedure,
            )
        )
    procedure = Procedure(
        id=spec.id,
        name=Name(spec.name.zh, spec.name.en),
        target_days=spec.target.days,
        target_unit=spec.target.unit,
        target_source=spec.target.source,
        steps=tuple(steps),
        attributes=tuple(attributes),
        file=str(path),
    )
    cycle = procedure.cycle()
    if cycle:
        index = [s.id for s in spec.steps].index(cycle[0])
        raise fail(
            "steps wait on each other in a cycle: " + " -> ".join((*cycle, cycle[0])),
            ("steps", index, "after"),
        )
    return procedure


def _fixed_days(spec: FixedTimeSpec | None) -> float | None:
    """A step's declared fixed time, in its unit."""
    if spec is None:
        return None
    return spec.working_days if spec.working_days is not None else spec.calendar_days


def _fixed_unit(spec: FixedTimeSpec | None) -> str:
    if spec is not None and spec.calendar_days is not None:
        return CALENDAR_DAYS
    return WORKING_DAYS


def _unique(ids: list[str], loc: Any, what: str, fail) -> None:
    seen: set[str] = set()
    base = loc if isinstance(loc, tuple) else (loc,)
    for index, item in enumerate(ids):
        if item in seen:
            raise fail(f"{what} id '{item}' is used twice", (*base, index, "id"))
        seen.add(item)


def procedure_search_path(scenario_path: Path) -> list[Path]:
    """Folders searched for ``<procedure id>.yaml``: the scenario's, then ``../processes``."""
    folder = scenario_path.resolve().parent
    return [folder, folder.parent / "processes", PROJECT_ROOT / "processes"]


def find_procedure_file(procedure_id: str, scenario_path: Path) -> Path | None:
    """The procedure file for an id, or None."""
    for folder in procedure_search_path(scenario_path):
        candidate = folder / f"{procedure_id}.yaml"
        if candidate.is_file():
            return candidate
    return None


def read_scenario(path: Path | str | None = None) -> Scenario:
    """Read and validate a scenario file and every procedure it names (reforms unapplied).

    Args:
        path: The scenario file; the bundled ``demo`` scenario when None.

    Returns:
        The scenario, with its working-day calendar built.

    Raises:
        InputError: For any problem in the scenario or its procedure files.
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    return scenario_from_data(read_yaml(path), path)


def scenario_from_data(
    data: Any, path: Path, procedures: Mapping[str, Procedure] | None = None
) -> Scenario:
    """Validate a scenario given as parsed data (reforms unapplied).

    Args:
        data: The mapping a scenario file holds.
        path: The file it is (or will be) written to: messages, and the folder its
            procedure and override files are found in.
        procedures: Procedures by id, used instead of finding their files.

    Raises:
        InputError: For any problem in the scenario or its procedure files.
    """
    path = Path(path)
    spec = validated(ScenarioSpec, data, path)

    def fail(message: str, loc: tuple[Any, ...]) -> InputError:
        return InputError(message, file=path, line=line_of(data, loc), field=field_path(loc))

    _unique([a.id for a in spec.agencies], "agencies", "agency", fail)
    _unique([p.procedure for p in spec.procedures], "procedures", "procedure", fail)
    _unique([v.name for v in spec.variants], "variants", "variant", fail)
    agencies = tuple(
        Agency(
            id=a.id,
            name=Name(a.name.zh, a.name.en),
            staff=None if a.staff == "unlimited" else int(a.staff),
            source=a.source,
        )
        for a in spec.agencies
    )
    agency_ids = {a.id for a in agencies}
    demands = []
    for index, demand in enumerate(spec.procedures):
        loc = ("procedures", index, "procedure")
        if procedures is not None and demand.procedure in procedures:
            procedure = procedures[demand.procedure]
            _check_agencies(procedure, agency_ids, Path(procedure.file))
            demands.append(Demand(procedure, demand.arrivals_per_day, demand.source))
            continue
        file = find_procedure_file(demand.procedure, path)
        if file is None:
            name = f"{demand.procedure}.yaml"
            folders = [f for f in procedure_search_path(path) if (f / name).exists()]
            if folders:
                raise fail(f"{folders[0] / name} is a folder, not a procedure file", loc)
            folders = ", ".join(str(f) for f in procedure_search_path(path)[:2])
            raise fail(f"no procedure file '{name}' in {folders}", loc)
        procedure = load_procedure(file)
        if procedure.id != demand.procedure:
            raise fail(
                f"file {file} declares id '{procedure.id}': a procedure file is named "
                "after its `id:`; rename the file or change its `id:`",
                loc,
            )
        _check_agencies(procedure, agency_ids, file)
        demands.append(Demand(procedure, demand.arrivals_per_day, demand.source))
    for index, agency in enumerate(spec.agencies):
        if agency.staff == 0:
            users = [
                d.procedure.id
                for d in demands
                if d.arrivals_per_day > 0
                and any(agency.id in s.agencies for s in d.procedure.steps)
            ]
            if users:
                raise fail(
                    f"agency '{agency.id}' has no staff but handles steps of "
                    f"{', '.join(users)}: give it staff (or `unlimited`)",
                    ("agencies", index, "staff"),
                )
    start = spec.calendar.start
    overrides = ()
    if spec.calendar.overrides:
        override_path = _inside(
            path,
            spec.calendar.overrides,
            fail,
            ("calendar", "overrides"),
            absolute=spec.allow_absolute_paths,
        )
        overrides = load_overrides(override_path)
    calendar, arrival_days = _calendar(spec, start, overrides, _day_rule(spec, fail), fail)
    horizon = Horizon(
        arrival_days=arrival_days,
        drain_days=spec.horizon.drain_working_days,
        warmup_days=spec.horizon.warmup_working_days,
    )
    if horizon.warmup_days >= horizon.arrival_days:
        raise fail("warm-up is as long as the arrival period", ("horizon", "warmup_working_days"))
    expected = sum(d.arrivals_per_day for d in demands) * horizon.arrival_days
    if expected > MAX_CASES:
        busiest = max(range(len(demands)), key=lambda i: demands[i].arrivals_per_day)
        raise fail(
            f"arrivals a day times {horizon.arrival_days:g} arrival days make about "
            f"{expected:,.0f} cases a replication, more than the sanity limit of "
            f"{MAX_CASES:,} (no machine holds such a run): check the unit of "
            "`arrivals_per_day:`",
            ("procedures", busiest, "arrivals_per_day"),
        )
    if len(calendar) < horizon.end + 1:
        raise fail("the calendar does not cover the horizon", ("horizon",))
    variants = tuple(
        Variant(
            name=variant.name,
            title=(
                Name(variant.title.zh, variant.title.en)
                if variant.title is not None
                else Name(variant.name, variant.name)
            ),
            reforms=tuple(
                ReformSpec(
                    type=reform.type,
                    label=reform.label or f"{reform.type}#{position + 1}",
                    parameters={
                        key: value
                        for key, value in reform.model_dump().items()
                        if key not in {"type", "label", "source"}
                    },
                    line=line_of(data, ("variants", index, "reforms", position)),
                    source=reform.source,
                )
                for position, reform in enumerate(variant.reforms)
            ),
        )
        for index, variant in enumerate(spec.variants)
    )
    counting = spec.counting
    scenario = Scenario(
        name=spec.name,
        title=spec.title,
        file=str(path),
        seed=spec.seed,
        replications=spec.replications,
        start=start,
        horizon=horizon,
        calendar=calendar,
        agencies=agencies,
        demands=tuple(demands),
        variants=variants,
        counting=Counting(**counting.model_dump()) if counting is not None else Counting(),
    )
    return scenario


def _check_agencies(procedure: Procedure, agency_ids: set[str], file: Path) -> None:
    data = read_yaml(file) if file.is_file() else {}
    for index, step in enumerate(procedure.steps):
        if step.agency not in agency_ids:
            raise InputError(
                f"agency '{step.agency}' of step '{step.id}' is not declared in the scenario's "
                "`agencies:`" + did_you_mean(step.agency, sorted(agency_ids)),
                file=file,
                line=line_of(data, ("steps", index, "agency")),
                field=f"steps[{index}].agency",
            )


def _inside(
    scenario_path: Path, name: str, fail, loc: tuple[Any, ...], absolute: bool = False
) -> Path:
    """The file ``name`` in the scenario's folder (or below it).

    A path that leaves the folder (``../``, a symbolic link) is refused; an absolute path
    only when the scenario says ``allow_absolute_paths: true``.
    """
    folder = scenario_path.resolve().parent
    if "\x00" in name:
        raise fail(f"'{name}' is not a file name", loc)
    given = Path(name)
    try:
        candidate = (given if given.is_absolute() and absolute else folder / name).resolve()
    except (OSError, RuntimeError) as error:  # a symbolic link loop (RuntimeError before 3.13)
        raise fail(
            f"cannot read '{name}': {getattr(error, 'strerror', None) or error}", loc
        ) from None
    if not (given.is_absolute() and absolute):
        if not candidate.is_relative_to(folder):
            hint = (
                "set `allow_absolute_paths: true` in the scenario to use an absolute path"
                if given.is_absolute()
                else "put the file in that folder (or a subfolder) and name it relative to it"
            )
            raise fail(f"'{name}' lies outside the scenario's folder {folder}: {hint}", loc)
    if not candidate.is_file():
        where = "" if given.is_absolute() else " beside the scenario"
        raise fail(f"no file '{name}'{where}", loc)
    return candidate


def _day_rule(spec: ScenarioSpec, fail) -> DayRule:
    """The days the scenario's calendar works: Chinese, a country's, weekdays or all."""
    if spec.calendar.days is not None:
        return DayRule(spec.calendar.days)
    if spec.calendar.country is not None:
        try:
            return DayRule("country", check_country(spec.calendar.country))
        except CalendarError as error:
            raise fail(str(error), ("calendar", "country")) from None
    return DayRule()


def _calendar(
    spec: ScenarioSpec, start, overrides, rule: DayRule, fail
) -> tuple[WorkingCalendar, float]:
    """The working-day calendar the run needs, and the working days of arrivals.

    Arrivals run for ``working_days``, or on every working day from the start through
    ``until`` (inclusive; an ``until`` that is no working day ends them on the working
    day before). The calendar then covers the arrivals, the drain and the day the run
    stops on (the horizon check of `read_scenario`: at least ``end + 1`` working days).
    """
    horizon = spec.horizon
    until = horizon.until
    if until is not None and until < start:
        raise fail("`until:` is before the calendar's start", ("horizon", "until"))
    # Five working days a week is the most there can be, so 7/5 calendar days per working
    # day never reaches into a year the run does not need; then grow until it is enough.
    end = until if until is not None else start
    end += datetime.timedelta(
        days=math.ceil((horizon.drain_working_days + 1 + (horizon.working_days or 0)) * 7 / 5)
    )
    try:
        calendar = WorkingCalendar.build(start, end, overrides, rule)
        while True:
            arrival_days = (
                horizon.working_days
                if until is None
                else float(calendar.working_days_between(start, until + datetime.timedelta(1)))
            )
            if arrival_days == 0:
                raise fail(
                    f"there is no working day from {start} through `until:` {until}: no case "
                    "would arrive",
                    ("horizon", "until"),
                )
            if len(calendar) >= arrival_days + horizon.drain_working_days + 1:
                return calendar, arrival_days
            end += datetime.timedelta(days=10)
            calendar = WorkingCalendar.build(start, end, overrides, rule)
    except CalendarError as error:
        raise _calendar_error(error, spec, start, overrides, rule, fail) from None


def _calendar_error(
    error: CalendarError, spec: ScenarioSpec, start, overrides, rule: DayRule, fail
):
    """Blame the start when its own year is not known, else the horizon reaching past."""
    try:
        WorkingCalendar.build(start, datetime.date(start.year, 12, 31), overrides, rule)
    except CalendarError as own:
        return fail(f"the calendar starts in {start.year}: {own}", ("calendar", "start"))
    horizon = spec.horizon
    arrivals = (
        f"arrivals until {horizon.until}"
        if horizon.until is not None
        else f"{horizon.working_days:g} working days of arrivals"
    )
    return fail(
        f"the horizon ({arrivals} from {start}, then {horizon.drain_working_days:g} working "
        f"days to finish) reaches past the years the calendar knows: {error}",
        ("horizon",),
    )
