"""Read procedure and scenario files into model objects, validating everything once.

Every problem becomes one `InputError` naming the file, the line and the field: YAML
syntax and duplicate keys (ruamel.yaml), shapes and ranges (pydantic), distribution
parameters, and cross-references (steps in ``after:``, agencies, conditions, cycles).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLWarning

from sim import distributions
from sim.calendar import CalendarError, WorkingCalendar, load_overrides
from sim.conditions import ConditionError, compile_condition
from sim.errors import InputError
from sim.model import (
    Agency,
    Attribute,
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
from sim.schema import ProcedureSpec, ScenarioSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = PROJECT_ROOT / "scenarios" / "demo.yaml"
MAX_FILE_BYTES = 5_000_000
# Values in a file once YAML aliases (`*name`) are expanded, and nesting depth: far above
# any real file, far below what exhausts memory (an alias "bomb" expands to billions).
MAX_YAML_VALUES = 1_000_000
MAX_YAML_DEPTH = 64
# Expected arrivals per replication and variant (arrivals a day times arrival days): a
# run this large takes many minutes and gigabytes of memory per replication.
MAX_CASES = 1_000_000


class _DatesAsText(RoundTripConstructor):
    """Leaves YAML timestamps as text, so that pydantic reports `2025-02-30` with its line.

    (ruamel builds dates while loading and raises a bare ValueError without a line.)
    """


_DatesAsText.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file keeping line numbers; refuse duplicate keys and non-UTF-8 text.

    Parsed files are cached by path, size and modification time: a scenario reads each
    procedure file once however often it is named. Callers must not modify the result.
    """
    path = Path(path)
    try:
        status = path.stat()
    except OSError:
        status = None
    if status is not None and path.is_file():
        key = (str(path.resolve()), status.st_size, status.st_mtime_ns)
        if key not in _PARSED:
            if len(_PARSED) > 256:
                _PARSED.clear()
            _PARSED[key] = _parse_yaml(path)
        return _PARSED[key]
    return _parse_yaml(path)


_PARSED: dict[tuple[str, int, int], Any] = {}


def _parse_yaml(path: Path) -> Any:
    if not path.exists():
        raise InputError("no such file", file=path)
    if path.is_dir():
        raise InputError("is a folder, not a file: name a .yaml file", file=path)
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES} bytes", file=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"is not UTF-8 text (byte {error.start}); save it as UTF-8", file=path
        ) from None
    if not text.strip():
        raise InputError("file is empty", file=path)
    yaml = YAML(typ="rt")
    yaml.Constructor = _DatesAsText
    try:
        with warnings.catch_warnings():
            # e.g. a redefined anchor (`&a` twice), valid YAML: the user sees one line
            # (the error) or none, not a parser's multi-line warning.
            warnings.simplefilter("ignore", YAMLWarning)
            data = yaml.load(text)
    except RecursionError:
        raise InputError(
            f"YAML: nested too deeply (more than {MAX_YAML_DEPTH} levels)", file=path
        ) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        if "duplicate key" in problem:
            problem = problem.replace("\n", " ") + " (each key may appear once)"
        raise InputError(f"YAML: {problem}", file=path, line=line) from None
    except YAMLError as error:
        # e.g. a ReaderError: a control character; it gives a position, not a line.
        position = getattr(error, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        reason = str(error).splitlines()[0] if line is not None else str(error)
        raise InputError(f"YAML: {reason}", file=path, line=line) from None
    except TypeError as error:
        # ruamel cannot use a list or mapping as a key (`{a: 1, {b: 2}: 3}`).
        if "unhashable" in str(error):
            raise InputError(
                "YAML: a list or mapping is used as a key; keys are names (check the "
                "braces and colons)",
                file=path,
            ) from None
        raise InputError(f"YAML: cannot read the file ({error})", file=path) from None
    except ValueError as error:  # a scalar ruamel cannot build
        raise InputError(f"YAML: cannot read the file ({error})", file=path) from None
    if data is None:
        raise InputError("file has only comments or blank lines", file=path)
    if not isinstance(data, dict):
        what = "a list (lines starting with `- `)" if isinstance(data, list) else "a single value"
        raise InputError(
            f"the file holds {what}; expected a mapping of `key: value` lines at the top",
            file=path,
            line=1,
        )
    _check_size(data, path)
    return data


def _check_size(data: Any, path: Path) -> None:
    """Refuse what YAML allows but a planner's file never needs.

    Aliases that expand enormously or contain themselves, deep nesting, tags (`!!python/
    object:...`, `!!binary`, `!custom`: plain values only) and text that is not valid
    Unicode (a lone surrogate, written as an escape in a double-quoted string).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(message: str, line: int | None) -> InputError:
        return InputError(f"YAML: {message}", file=path, line=line)

    def scalar(value: Any, line: int | None) -> None:
        tag = getattr(getattr(value, "tag", None), "value", None)
        if isinstance(value, TaggedScalar) or isinstance(value, bytes) or tag:
            shown = tag or ("!!binary" if isinstance(value, bytes) else "a tag")
            shown = shown.replace("tag:yaml.org,2002:", "!!")
            raise fail(f"tags such as `{shown}` are not allowed; write a plain value", line)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise fail("text with an invalid character (a lone surrogate)", line) from None

    def size(node: Any, depth: int, line: int | None) -> int:
        scalar(node, line)
        if not isinstance(node, (Mapping, list, tuple, Set)):
            return 1
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise fail("an alias (`*name`) refers to a value that contains it", line)
        if depth > MAX_YAML_DEPTH:
            raise fail(f"nested too deeply (more than {MAX_YAML_DEPTH} levels)", line)
        open_nodes.add(key)
        total = 1
        if isinstance(node, Mapping):
            children = []
            for name, value in node.items():
                at = _line(node, "key", name, line)
                if isinstance(name, (Mapping, list, tuple, Set)):
                    raise fail(
                        "a list or mapping is used as a key; keys are names (check the "
                        "braces and colons)",
                        at,
                    )
                children += [(name, at), (value, at)]
        else:
            children = [(item, _line(node, "item", i, line)) for i, item in enumerate(node)]
        for child, at in children:
            total += size(child, depth + 1, at)
            if total > MAX_YAML_VALUES:
                raise fail(
                    f"more than {MAX_YAML_VALUES:,} values once aliases (`*name`) are "
                    "expanded; write the values out or use fewer aliases",
                    at,
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(data, 0, 1)


def _line(node: Any, kind: str, which: Any, default: int | None) -> int | None:
    """1-based line of a mapping key or a list item, as ruamel recorded it."""
    try:
        return getattr(node.lc, kind)(which)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def line_of(data: Any, loc: Sequence[Any]) -> int | None:
    """1-based line of the deepest node of ``loc`` that exists in the parsed YAML."""
    line = None
    node = data
    for key in loc:
        position = None
        try:
            if isinstance(node, dict) and key in node:
                position = node.lc.key(key) if hasattr(node, "lc") else None
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                position = node.lc.item(key) if hasattr(node, "lc") else None
                node = node[key]
            else:
                break
        except (KeyError, AttributeError, TypeError):
            break
        if position is not None:
            line = position[0] + 1
    if line is None and hasattr(data, "lc"):
        line = data.lc.line + 1
    return line


def field_path(loc: Sequence[Any]) -> str:
    """``steps[2].handling.mode`` from a location tuple."""
    text = ""
    for key in loc:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _validation_error(error: ValidationError, data: Any, path: Path) -> InputError:
    # A misspelt field is both unknown and (under its right name) missing: name the typo.
    problems = sorted(error.errors(), key=lambda p: p["type"] != "extra_forbidden")
    first = problems[0]
    loc = _data_loc(first["loc"], data)
    message = first["msg"]
    alternatives = [p for p in problems if _data_loc(p["loc"], data) == loc]
    if len(alternatives) > 1:
        # A union: say what the field accepts rather than why each branch failed.
        kinds = {p["type"] for p in alternatives}
        if "dict_type" in kinds:
            message = "must be a number (fixed working days) or a mapping with `type:`"
        elif "literal_error" in kinds and kinds & {"int_parsing", "int_from_float", "int_type"}:
            words = [p["ctx"]["expected"] for p in alternatives if p["type"] == "literal_error"]
            message = f"must be a whole number or {words[0]}"
        else:
            message = " or ".join(sorted({p["msg"] for p in alternatives}))
        problems = [p for p in problems if p not in alternatives[1:]]
    if first["type"] == "extra_forbidden":
        message = f"unknown field '{loc[-1]}'" + _suggest(loc, data)
    elif first["type"] == "missing":
        message = f"missing required field '{loc[-1]}'"
    elif first["type"] == "too_short" and len(alternatives) == 1:
        least = first.get("ctx", {}).get("min_length", 1)
        message = f"must list at least {least} item{'s' if least != 1 else ''}"
    elif first["type"] == "value_error" and len(alternatives) == 1:
        message = message.removeprefix("Value error, ")
    elif first["type"] == "string_pattern_mismatch":
        message = "must be lower-case letters, digits and underscores, starting with a letter"
    more = len(problems) - 1
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
    return InputError(message, file=path, line=line_of(data, loc), field=field_path(loc) or None)


def _data_loc(loc: Sequence[Any], data: Any) -> list[Any]:
    """The keys and indexes of ``loc`` in the file, without pydantic's union tags.

    A part that is a key (or index) of the file's data at its place is kept, even if it
    looks like a tag (a key may be written `int` or `a[b`); so is a missing field's name.
    """
    kept: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif _is_union_tag(part):
            continue
        else:
            node = None
        kept.append(part)
    return kept


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type name to `loc` (e.g. 'int', 'literal[...]').
    return isinstance(part, str) and (part in {"int", "float", "str"} or "[" in part)


def _suggest(loc: Sequence[Any], data: Any) -> str:
    import difflib

    from sim import schema

    models = {
        "steps": schema.StepSpec,
        "materials": schema.MaterialSpec,
        "attributes": schema.AttributeSpec,
        "agencies": schema.AgencySpec,
        "procedures": schema.DemandSpec,
        "variants": schema.VariantSpec,
        "horizon": schema.HorizonSpec,
        "calendar": schema.CalendarSpec,
        "send_back": schema.SendBackSpec,
        "target": schema.TargetSpec,
        "name": schema.NameSpec,
    }
    parents = [key for key in loc[:-1] if isinstance(key, str)]
    model = models.get(parents[-1]) if parents else None
    if model is None:
        model = schema.ScenarioSpec if "seed" in data else schema.ProcedureSpec
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return (
        f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(model.model_fields)}"
    )


def _distribution(spec: Any, data: Any, path: Path, loc: tuple[Any, ...]):
    try:
        return distributions.from_spec(spec)
    except distributions.DistributionSpecError as error:
        full = (*loc, error.field) if error.field else loc
        raise InputError(
            str(error), file=path, line=line_of(data, full), field=field_path(full)
        ) from None


def _condition(text: str, kinds: dict[str, str], data: Any, path: Path, loc: tuple[Any, ...]):
    try:
        return compile_condition(text, kinds)
    except ConditionError as error:
        raise InputError(
            str(error), file=path, line=line_of(data, loc), field=field_path(loc)
        ) from None


def load_procedure(path: Path) -> Procedure:
    """Load and validate a procedure file."""
    path = Path(path)
    data = read_yaml(path)
    try:
        spec = ProcedureSpec.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, data, path) from None
    return _build_procedure(spec, data, path)


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
    kinds = {attribute.id: attribute.kind for attribute in attributes}
    known = {step.id for step in spec.steps}
    steps = []
    for index, step in enumerate(spec.steps):
        loc = ("steps", index)
        for position, before in enumerate(step.after):
            if before == step.id:
                raise fail(f"step '{step.id}' waits on itself", (*loc, "after", position))
            if before not in known:
                raise fail(
                    f"unknown step '{before}' in `after:`" + _closest(before, known),
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
                    Material(m.id, m.name, m.kind, m.probability_defective) for m in step.materials
                ),
                send_back=send_back,
                trips=step.trips,
                fees_cny=step.fees_cny,
                certificates=step.certificates,
                handling_on_clock=step.handling_on_clock,
                waiting_on_clock=step.waiting_on_clock,
                online=step.online,
                when=(
                    _condition(step.when, kinds, data, path, (*loc, "when"))
                    if step.when is not None
                    else None
                ),
                source=step.source,
                fixed_days=step.fixed_days,
            )
        )
    procedure = Procedure(
        id=spec.id,
        name=Name(spec.name.zh, spec.name.en),
        target_days=spec.target.working_days,
        target_source=spec.target.source,
        steps=tuple(steps),
        attributes=tuple(attributes),
        file=str(path),
    )
    cycle = find_cycle(procedure)
    if cycle:
        index = [s.id for s in spec.steps].index(cycle[0])
        raise fail(
            "steps wait on each other in a cycle: " + " -> ".join((*cycle, cycle[0])),
            ("steps", index, "after"),
        )
    return procedure


def find_cycle(procedure: Procedure) -> list[str]:
    """A cycle of ``after:`` references, as a list of step ids, or an empty list."""
    after = {step.id: step.after for step in procedure.steps}
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        trail.append(node)
        for before in after.get(node, ()):
            if state.get(before) == 1:
                return trail[trail.index(before) :]
            if before not in state:
                found = visit(before)
                if found:
                    return found
        state[node] = 2
        trail.pop()
        return []

    for step_id in after:
        if step_id not in state:
            found = visit(step_id)
            if found:
                return list(reversed(found))
    return []


def _unique(ids: list[str], loc: Any, what: str, fail) -> None:
    seen: set[str] = set()
    base = loc if isinstance(loc, tuple) else (loc,)
    for index, item in enumerate(ids):
        if item in seen:
            raise fail(f"{what} id '{item}' is used twice", (*base, index, "id"))
        seen.add(item)


def _closest(name: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(sorted(known))}"


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


def load_scenario(path: Path | str | None = None) -> Scenario:
    """Load and validate a scenario file and every procedure it names.

    Args:
        path: The scenario file; the bundled ``demo`` scenario when None.

    Returns:
        The scenario, with its working-day calendar built.

    Raises:
        InputError: For any problem in the scenario or its procedure files.
    """
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    data = read_yaml(path)
    try:
        spec = ScenarioSpec.model_validate(data)
    except ValidationError as error:
        raise _validation_error(error, data, path) from None

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
    fingerprint_parts: list[Any] = [spec.model_dump(mode="json")]
    for index, demand in enumerate(spec.procedures):
        loc = ("procedures", index, "procedure")
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
        fingerprint_parts.append(read_yaml(file))
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
        fingerprint_parts.append(read_yaml(override_path))
    calendar = _calendar(spec, start, overrides, fail)
    arrival_days = (
        spec.horizon.working_days
        if spec.horizon.working_days is not None
        else float(calendar.working_days_between(start, spec.horizon.until) + 1)
    )
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
            f"{expected:,.0f} cases a replication, more than the limit of {MAX_CASES:,} (such "
            "a run takes hours and gigabytes of memory): check the unit of "
            "`arrivals_per_day:`, or shorten the horizon",
            ("procedures", busiest, "arrivals_per_day"),
        )
    if len(calendar) < horizon.end + 1:
        raise fail("the calendar does not cover the horizon", ("horizon",))
    variants = tuple(
        Variant(
            name=variant.name,
            title=variant.title or variant.name,
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
    fingerprint = hashlib.sha256(
        json.dumps(fingerprint_parts, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()[:12]
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
        fingerprint=fingerprint,
    )
    _check_variants(scenario, data, path)
    return scenario


def _check_variants(scenario: Scenario, data: Any, path: Path) -> None:
    # Reforms are checked by building every variant once, so that a bad reform is a load error.
    try:
        from sim import reforms
    except ImportError:  # the reform catalogue is optional for plain baseline runs
        if any(v.reforms for v in scenario.variants):
            raise InputError("this build has no reform catalogue", file=path) from None
        return
    for variant in scenario.variants:
        reforms.resolve(scenario, variant.name)


def _check_agencies(procedure: Procedure, agency_ids: set[str], file: Path) -> None:
    data = read_yaml(file)
    for index, step in enumerate(procedure.steps):
        if step.agency not in agency_ids:
            raise InputError(
                f"agency '{step.agency}' of step '{step.id}' is not declared in the scenario's "
                "`agencies:`" + _closest(step.agency, agency_ids),
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
    if given.is_absolute() and absolute:
        candidate = given.resolve()
    else:
        candidate = (folder / name).resolve()
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


def _calendar(spec: ScenarioSpec, start, overrides, fail) -> WorkingCalendar:
    import datetime

    if spec.horizon.until is not None and spec.horizon.until < start:
        raise fail("`until:` is before the calendar's start", ("horizon", "until"))
    # Five working days a week is the most there can be, so 7/5 calendar days per working
    # day never reaches into a year the run does not need; then grow until it is enough.
    if spec.horizon.until is not None:
        end = spec.horizon.until
        needed = spec.horizon.drain_working_days + 1
    else:
        end = start
        needed = spec.horizon.working_days + spec.horizon.drain_working_days + 1
    end += datetime.timedelta(days=math.ceil(needed * 7 / 5))
    try:
        calendar = WorkingCalendar.build(start, end, overrides)
        base = (
            0
            if spec.horizon.until is None
            else calendar.working_days_between(start, spec.horizon.until)
        )
        while len(calendar) < base + needed:
            end += datetime.timedelta(days=10)
            calendar = WorkingCalendar.build(start, end, overrides)
    except CalendarError as error:
        raise fail(str(error), ("horizon",)) from None
    return calendar
