"""Shared builders of test inputs, so that no test file copies another's YAML.

- YAML as text: `agencies` (an ``agencies:`` block of the desk and the review office),
  `scenario_text`, `one_step` (a procedure of one step), `PROCEDURE_HEAD` + `step_line`
  (a procedure step by step), `TWO_STEPS` (the loader's base: tests assert on its
  lines), `BRANCHING` (a step, then two side by side, one conditional), `OVERRIDE_2027`
  (a calendar override file); `write_case` and `write_procedure` write them into a
  folder, usually ``tmp_path``.
- Ready-made scenarios several test files use: `intake_review_scenario` (`INTAKE_REVIEW`,
  two steps with send-backs, staff limits, a variant) and `four_step_scenario`
  (`FOUR_STEP_PROCEDURE`, names carrying markup, a conditional step).
- YAML from dicts, for reforms and variants: `step`, `procedure`, `flag`, `reform`,
  `write_scenario` (procedure files and a scenario with one variant ``v``), and the
  reviewed procedure `review_procedure` with its `tolerate` reform.
- Running: `run` (load a scenario file, run one variant once with the discrete-event
  engine), `shortened` (a bundled scenario with fewer days of arrivals), `table_bytes`,
  `leftovers` (temporary files left behind), `needs_compiled` (a skip mark).
- Model objects without files: `random_model` (a random procedure using every feature
  the engines know).
- Hand-made result tables for the statistics: `table_scenario`, `case_rows`, `step_rows`.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import math
import textwrap
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from sim import load_scenario
from sim.domain.conditions import compile_condition
from sim.domain.distributions import Exponential, Fixed, LogNormal, Triangular, Uniform
from sim.domain.model import (
    Agency,
    Attribute,
    ConditionalReform,
    Consequence,
    Demand,
    FollowUp,
    Horizon,
    Material,
    Model,
    Name,
    Procedure,
    ReformMark,
    Scenario,
    SendBack,
    Step,
    TimeLimit,
)
from sim.engines import compiled
from sim.engines.compiled import simulate
from sim.engines.records import CASE_COLUMNS, STEP_COLUMNS
from sim.reforms import resolve, resolve_variant

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The bad-input corpus; `_valid/` holds the valid files every case is a copy of.
BAD_INPUTS = Path(__file__).resolve().parent / "bad_inputs"

# --------------------------------------------------------------------------- YAML as text

AGENCY_NAMES = {"desk": ("窗口", "Desk"), "review": ("审查", "Review")}


def agencies(
    desk: str | int | None = "unlimited",
    review: str | int | None = "unlimited",
    names: dict[str, tuple[str, str]] | None = None,
) -> str:
    """An ``agencies:`` block of the desk and the review office (None leaves one out)."""
    names = {**AGENCY_NAMES, **(names or {})}
    lines = ["agencies:"]
    for agency, staff in (("desk", desk), ("review", review)):
        if staff is not None:
            zh, en = names[agency]
            lines.append(
                f'  - {{id: {agency}, name: {{zh: "{zh}", en: "{en}"}}, staff: {staff}, '
                'source: "test"}'
            )
    return "\n".join(lines) + "\n"


AGENCIES = agencies()


def scenario_text(
    agencies: str = AGENCIES,
    rate: float = 1.0,
    start: str = "2025-03-03",
    days: float = 5,
    drain: float = 60,
    extra: str = "",
    *,
    seed: int = 7,
    warmup: float | None = None,
    name: str = "test",
    title: str = "test scenario",
) -> str:
    """A scenario running the procedure ``proc`` with the given agencies and arrivals.

    ``extra`` is appended as written (variants, further fields).
    """
    warmup_text = "" if warmup is None else f", warmup_working_days: {warmup}"
    return (
        textwrap.dedent(f"""
        name: {name}
        title: {title}
        seed: {seed}
        calendar: {{start: {start}}}
        horizon: {{working_days: {days}, drain_working_days: {drain}{warmup_text}}}
        procedures:
          - {{procedure: proc, arrivals_per_day: {rate}, source: "test"}}
        """)
        + textwrap.dedent(agencies)
        + textwrap.dedent(extra)
    )


def one_step(
    handling: str | float,
    agency: str = "desk",
    target: float = 1,
    step_id: str = "a",
) -> str:
    """The procedure ``proc`` of one step with this handling (a number or a distribution)."""
    return textwrap.dedent(f"""
    id: proc
    name: {{zh: 测试, en: Test}}
    target: {{working_days: {target}, source: "test"}}
    steps:
      - {{id: {step_id}, name: {{zh: 甲, en: A}}, agency: {agency}, handling: {handling}, source: "test"}}
    """)


# A procedure's head with one boolean attribute, ``big``; steps follow as `step_line`s.
PROCEDURE_HEAD = """
id: proc
name: {zh: 测试事项, en: Test procedure}
target: {working_days: 5, source: "test"}
attributes:
  - {id: big, kind: boolean, probability: 0.5, source: "test"}
steps:
"""


def step_line(step_id: str, handling, after: Iterable[str] = (), extra: str = "") -> str:
    """One step at the desk as a line of `PROCEDURE_HEAD`'s ``steps:`` list.

    ``extra`` is further fields, written as ``", waiting: 1"``.
    """
    after_text = f", after: [{', '.join(after)}]" if after else ""
    return (
        f"  - {{id: {step_id}, name: {{zh: 步{step_id}, en: Step {step_id}}}, agency: desk, "
        f"handling: {handling}{after_text}{extra}, source: test}}\n"
    )


def write_case(folder: Path, procedure: str, scenario: str) -> Path:
    """Write ``proc.yaml`` and ``scenario.yaml`` into ``folder``; return the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "proc.yaml").write_text(textwrap.dedent(procedure), encoding="utf-8")
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent(scenario), encoding="utf-8")
    return path


def write_procedure(folder: Path, text: str) -> Path:
    """Write ``proc.yaml`` into ``folder``; return its path."""
    path = folder / "proc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# A valid procedure of two steps at the desk and the review office; tests assert on its
# line numbers, so change it only with them.
TWO_STEPS = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
attributes:
  - {id: big, kind: boolean, probability: 0.5, source: "test"}
steps:
  - id: a
    name: {zh: 甲, en: A}
    agency: desk
    handling: {type: triangular, min: 1, mode: 2, max: 3}
    source: "test"
  - id: b
    name: {zh: 乙, en: B}
    agency: review
    handling: 1
    after: [a]
    source: "test"
"""


# Three steps: a (send-backs), then b (only for ``big`` cases) and c (waiting on the
# approval clock) side by side.
BRANCHING = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 5, source: "test"}
attributes:
  - {id: big, kind: boolean, probability: 0.5, source: "test"}
steps:
  - id: a
    name: {zh: 甲, en: A}
    agency: desk
    handling: {type: lognormal, median: 0.4, p90: 1.2}
    materials: [{id: f, name: 表, kind: main, probability_defective: 0.3}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 1}
    source: "test"
  - id: b
    name: {zh: 乙, en: B}
    agency: review
    handling: {type: gamma, shape: 2, mean: 0.5}
    after: [a]
    when: "big"
    source: "test"
  - id: c
    name: {zh: 丙, en: C}
    agency: review
    handling: {type: pert, min: 0.1, mode: 0.5, max: 2}
    waiting: {type: uniform, min: 1, max: 3}
    waiting_on_clock: true
    after: [a]
    source: "test"
"""

# A calendar override file for 2027 (a year chinesecalendar does not know).
OVERRIDE_2027 = """\
years:
  - year: 2027
    holidays: [2027-01-01, 2027-02-05]
    working_weekends:
      - 2027-02-14
    source: "made up for the test"
"""

# --------------------------------------------------------------------------- ready-made inputs

# Intake with send-backs, then a review; a categorical attribute.
INTAKE_REVIEW = """
id: proc
name: {zh: 测试, en: Test}
target: {working_days: 3, source: "test"}
attributes:
  - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
steps:
  - id: intake
    name: {zh: 受理, en: Intake}
    agency: desk
    handling: {type: exponential, mean: 0.3}
    materials: [{id: form, name: 表, kind: main, probability_defective: 0.2}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 2}
    source: "test"
  - id: review
    name: {zh: 审查, en: Review}
    agency: review
    handling: {type: lognormal, median: 0.6, p90: 1.5}
    after: [intake]
    source: "test"
"""

FASTER_REVIEW = """
variants:
  - name: faster_review
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.8, source: "test"}
"""


def intake_review_scenario(folder: Path, variants: bool = True, staff: int = 2) -> Path:
    """`INTAKE_REVIEW`, two arrivals a day for 60 working days, ``staff`` at each agency.

    With ``variants``, the variant ``faster_review`` cuts the review's time by a fifth.
    """
    text = scenario_text(
        agencies=agencies(desk=staff, review=staff),
        rate=2.0,
        days=60,
        drain=60,
        extra=FASTER_REVIEW if variants else "",
    )
    return write_case(folder, INTAKE_REVIEW, text)


# Names carry markup on purpose: a report must show it as text.
FOUR_STEP_PROCEDURE = """
id: proc
name: {zh: "测试事项<script>alert('p')</script>", en: "Test procedure <script>alert('p')</script>"}
target: {working_days: 6, source: "test"}
attributes:
  - {id: size, kind: categorical, shares: {small: 0.7, large: 0.3}, source: "test"}
steps:
  - id: intake
    name: {zh: 受理, en: Intake}
    agency: desk
    handling: {type: exponential, mean: 0.3}
    materials: [{id: form, name: 表, kind: main, probability_defective: 0.25}]
    send_back: {response: {type: exponential, mean: 2}, max_resubmissions: 2}
    trips: 1
    source: "test"
  - id: review
    name: {zh: "审查<b>", en: "Review <b>"}
    agency: review
    handling: {type: lognormal, median: 0.6, p90: 1.5}
    waiting: {type: uniform, min: 1, max: 3}
    after: [intake]
    fees_cny: 100
    source: "test"
  - id: survey
    name: {zh: 勘察, en: Survey}
    agency: review
    handling: {type: lognormal, median: 0.4, p90: 1.0}
    waiting: {type: uniform, min: 0.5, max: 2}
    waiting_on_clock: true
    after: [intake]
    when: "size == 'large'"
    source: "test"
  - id: permit
    name: {zh: 发证, en: Permit}
    agency: desk
    handling: 0.2
    after: [review, survey]
    trips: 1
    source: "test"
"""

# A variant of `FOUR_STEP_PROCEDURE` titled in both languages.
BILINGUAL_PACKAGE = """
variants:
  - name: package
    title: {zh: 改革包, en: The package}
    reforms:
      - {type: time_limit, procedure: proc, steps: [review], scale: 0.5, source: "test"}
"""

MARKUP_AGENCIES = agencies(
    desk=2,
    review=2,
    names={"review": ("审查科<img src=x onerror=alert(1)>", "Review office <img src=x>")},
)


def four_step_scenario(
    folder: Path, extra: str, rate: float = 2.0, days: float = 20, drain: float = 40, **kw
) -> Path:
    """`FOUR_STEP_PROCEDURE` at the desk and a review office with markup in its name."""
    text = scenario_text(MARKUP_AGENCIES, rate=rate, days=days, drain=drain, extra=extra, **kw)
    return write_case(folder, FOUR_STEP_PROCEDURE, text)


# --------------------------------------------------------------------------- YAML from dicts

SOURCE = "assumption: test"
AGENCY_IDS = ("office", "env", "soil", "plan", "fire", "window")


def step(step_id: str, handling=1.0, after: Iterable[str] = (), agency="office", **extra) -> dict:
    """A step as a dict; ``extra`` adds fields (``materials=``, ``trips=``, ...)."""
    return {
        "id": step_id,
        "name": {"zh": step_id, "en": step_id},
        "agency": agency,
        "handling": handling,
        "after": list(after),
        "source": SOURCE,
        **extra,
    }


def procedure(procedure_id: str, steps: list[dict], attributes: Iterable[dict] = ()) -> dict:
    """A procedure as a dict, with a 30-working-day target."""
    return {
        "id": procedure_id,
        "name": {"zh": procedure_id, "en": procedure_id},
        "target": {"working_days": 30, "source": SOURCE},
        "attributes": list(attributes),
        "steps": steps,
    }


def flag(attribute_id: str, probability=0.5) -> dict:
    """A boolean case attribute as a dict."""
    return {"id": attribute_id, "kind": "boolean", "probability": probability, "source": SOURCE}


def reform(kind: str, **parameters) -> dict:
    """A reform of a variant as a dict."""
    return {"type": kind, "source": SOURCE, **parameters}


def dump(data) -> str:
    """``data`` as block-style YAML."""
    yaml = YAML()
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def write_scenario(
    folder: Path, procedures: list[dict], reforms=(), staff=None, arrivals=4.0
) -> Path:
    """Procedure files and a scenario with one variant ``v`` holding ``reforms``.

    Every agency of `AGENCY_IDS` has unlimited staff unless ``staff`` says otherwise;
    ``arrivals`` is a rate for every procedure or a dict of rates by procedure. Cases
    arrive for 5 working days from 2025-03-03; the run goes on 60 more.
    """
    staff = staff or {}
    for spec in procedures:
        (folder / f"{spec['id']}.yaml").write_text(dump(spec), encoding="utf-8")
    rates = arrivals if isinstance(arrivals, dict) else {p["id"]: arrivals for p in procedures}
    scenario = {
        "name": "s",
        "title": "S",
        "seed": 1,
        "calendar": {"start": datetime.date(2025, 3, 3)},
        "horizon": {"working_days": 5, "drain_working_days": 60},
        "agencies": [
            {"id": a, "name": {"zh": a, "en": a}, "staff": staff.get(a, "unlimited"), "source": SOURCE}
            for a in AGENCY_IDS
        ],
        "procedures": [
            {"procedure": p["id"], "arrivals_per_day": rates[p["id"]], "source": SOURCE}
            for p in procedures
        ],
        "variants": [{"name": "v", "reforms": list(reforms)}] if reforms else [],
    }
    path = folder / "scenario.yaml"
    path.write_text(dump(scenario), encoding="utf-8")
    return path


def review_procedure(main=0.0, minor=1.0) -> dict:
    """A review (send-back after 2 days, at most 2 resubmissions), then an issue step.

    The review's main material is defective with probability ``main``, its minor one
    with ``minor``.
    """
    return procedure(
        "p",
        [
            step(
                "review",
                1,
                materials=[
                    {"id": "licence", "name": "licence", "kind": "main", "probability_defective": main},
                    {"id": "photo", "name": "photo", "kind": "minor", "probability_defective": minor},
                ],
                send_back={"response": 2, "max_resubmissions": 2},
            ),
            step("issue", 1, ["review"]),
        ],
    )


def tolerate(on_failure, share=0.0, steps=("review",), delay=5, **extra) -> dict:
    """Tolerated deficiency at the review of `review_procedure` (or at ``steps`` of the
    procedure ``p``): the missing material follows within ``delay`` days."""
    return reform(
        "tolerated_deficiency",
        procedure="p",
        steps=list(steps),
        commitment_delay=delay,
        failure_share=share,
        on_failure=on_failure,
        **extra,
    )


# --------------------------------------------------------------------------- running


def run(path: Path, variant: str = "baseline", seed: int = 0):
    """Load a scenario, run one variant once; return (scenario, cases, steps)."""
    scenario = load_scenario(path)
    records = simulate(resolve_variant(scenario, variant), np.random.SeedSequence(seed))
    cases, steps = records.frames(scenario.calendar)
    return scenario, cases, steps


def table_bytes(result) -> bytes:
    """A run's case and step tables as CSV bytes, to compare runs byte for byte."""
    return result.cases.to_csv(index=False).encode() + result.steps.to_csv(index=False).encode()


def leftovers(folder: Path) -> list[Path]:
    """Temporary files (``.<name>.<pid>.tmp``) anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def shortened(
    path: Path,
    arrival_days: float,
    cases: float | None = None,
    drain_days: float | None = None,
) -> Scenario:
    """A bundled scenario with fewer days of arrivals, for speed, resolved again.

    ``arrival_days`` is lengthened so that about ``cases`` cases arrive, if given (a
    scenario with few arrivals a day: the complaint scenario's half a case); the drain is
    the scenario's unless ``drain_days`` is given (the calendar must hold it). The
    resolved models carry the horizon, so the scenario is resolved after the change.
    """
    scenario = load_scenario(path)
    if cases is not None:
        per_day = sum(demand.arrivals_per_day for demand in scenario.model("baseline").demands)
        arrival_days = max(arrival_days, math.ceil(cases / per_day)) if per_day else arrival_days
    horizon = dataclasses.replace(scenario.horizon, arrival_days=arrival_days)
    if drain_days is not None:
        horizon = dataclasses.replace(horizon, drain_days=drain_days)
    return resolve(dataclasses.replace(scenario, horizon=horizon, models=()))


needs_compiled = pytest.mark.skipif(
    not compiled.core().COMPILED,
    reason="the engine is not compiled here (no C compiler at install, or "
    "APPROVALSIM_PURE_PYTHON set): nothing to compare",
)


# --------------------------------------------------------------------------- random models

RANDOM_KINDS = {"size": "categorical", "big": "boolean", "inv": "numeric"}
RANDOM_ATTRIBUTES = (
    Attribute("size", "categorical", values=("small", "large"), shares=(0.6, 0.4)),
    Attribute("big", "boolean", probability=0.3),
    Attribute("inv", "numeric", distribution=Uniform(0, 100)),
)
RANDOM_CONDITIONS = ["big", 'size == "small"', "inv >= 50", "not big and inv < 70"]


def random_model(seed: int, unlimited: bool = True) -> Model:
    """A random procedure with every feature, continuous durations (no ties).

    Three agencies (unlimited staff, or two each); steps with predecessors, conditions,
    materials and send-backs, joint agencies, tolerated deficiencies, commitments (some
    holding the step until the material is in) and post-checks with rework or
    revocation, time limits; a conditional reform (``half``). Cases arrive
    three a working day for 25 working days from 2025-03-03; the run goes on 3 or 40 more.
    """
    rng = np.random.default_rng(seed)
    agency_list = tuple(
        Agency(f"a{i}", Name("部门", "agency"), None if unlimited else 2) for i in range(3)
    )

    def duration(mean: float):
        kind = rng.integers(0, 3)
        if kind == 0:
            return Exponential(mean)
        if kind == 1:
            return LogNormal(mean, mean * 2.5)
        return Triangular(0.1 * mean, mean, mean * 3)

    steps = []
    for index in range(int(rng.integers(2, 7))):
        count = min(index, int(rng.integers(0, 3)))
        after = tuple(sorted({f"s{j}" for j in rng.choice(index, size=count, replace=False)}))
        materials = (
            Material("m", "表", "main", float(rng.choice([0.0, 0.2, 0.5]))),
            Material("n", "附件", "minor", float(rng.choice([0.1, 0.4]))),
        )
        follow_ups = ()
        if rng.random() < 0.5:
            consequence = (
                Consequence("revoke")
                if rng.random() < 0.4
                else Consequence("rework", "a2" if rng.random() < 0.5 else None, duration(0.3))
            )
            kind = "commitment" if rng.random() < 0.5 else "post_check"
            holds = kind == "commitment" and rng.random() < 0.5
            follow_ups = (FollowUp(f"fu{index}", kind, duration(2.0), 0.4, consequence, holds),)
        steps.append(
            Step(
                id=f"s{index}",
                name=Name("步", "step"),
                agency=f"a{int(rng.integers(0, 3))}",
                handling=duration(0.4),
                waiting=duration(0.5) if rng.random() < 0.5 else Fixed(0.0),
                after=after,
                materials=materials,
                send_back=SendBack(duration(1.0), int(rng.integers(0, 3))),
                trips=float(rng.choice([0.0, 1.0, 0.5])),
                fees_cny=float(rng.choice([0.0, 100.0])),
                certificates=int(rng.integers(0, 2)),
                handling_on_clock=bool(rng.random() < 0.8),
                waiting_on_clock=bool(rng.random() < 0.5),
                when=(
                    compile_condition(str(rng.choice(RANDOM_CONDITIONS)), RANDOM_KINDS)
                    if rng.random() < 0.3
                    else None
                ),
                joint_agencies=("a1",) if rng.random() < 0.2 else (),
                tolerance="tolerated" if rng.random() < 0.5 else None,
                follow_ups=follow_ups,
                time_limit=(
                    TimeLimit(float(rng.uniform(0.2, 1.5)), bool(rng.random() < 0.7))
                    if rng.random() < 0.3
                    else None
                ),
            )
        )
    based = rng.random() < 0.5
    base = Procedure(
        "proc",
        Name("测试", "Test"),
        4.0,
        "test",
        tuple(steps),
        attributes=RANDOM_ATTRIBUTES,
        fired=("base",) if based else (),
        reformed_by=(ReformMark("base"),) if based else (),
    )
    condition = compile_condition(str(rng.choice(RANDOM_CONDITIONS)), RANDOM_KINDS)

    def halve(p: Procedure) -> Procedure:
        faster = tuple(
            dataclasses.replace(
                s, handling=s.handling.scaled(0.5), reformed_by=(*s.reformed_by, ReformMark("half"))
            )
            for s in p.steps
        )
        return dataclasses.replace(p, steps=faster, fired=(*p.fired, "half"))

    demand = Demand(base, 3.0, "test", (ConditionalReform("half", condition, halve),))
    horizon = Horizon(arrival_days=25, drain_days=float(rng.choice([3, 40])))
    return Model("baseline", "baseline", (demand,), agency_list, horizon, "")


# --------------------------------------------------------------------------- hand-made tables


def table_scenario(
    variants=("baseline", "fast"),
    procedures=(("p", 5.0),),
    warmup: float = 0.0,
    arrival_days: float = 100.0,
    agencies=(),
):
    """A stand-in for a scenario with what the statistics read: variants, targets, horizon."""
    built = [Procedure(pid, Name(pid, pid), target, "test", steps=()) for pid, target in procedures]
    return SimpleNamespace(
        variant_names=tuple(variants),
        demands=tuple(SimpleNamespace(procedure=p) for p in built),
        procedure_index={p.id: p for p in built},
        models=(SimpleNamespace(procedure_index={p.id: p for p in built}),),
        horizon=Horizon(arrival_days=arrival_days, drain_days=10, warmup_days=warmup),
        agencies=tuple(agencies),
    )


# The agencies of the hand-made tables: two staff at the desk, unlimited review.
TABLE_AGENCIES = (
    Agency("desk", Name("窗口", "Desk"), staff=2),
    Agency("review", Name("审查", "Review"), staff=None),
)


def case_rows(rows: list[dict]) -> pd.DataFrame:
    """A case table with every schema column; unspecified fields get plain defaults.

    A case is within the target when completed within 5 working days.
    """
    defaults = {
        "replication": 0,
        "variant": "baseline",
        "procedure": "p",
        "status": "completed",
        "arrival_day": 10.0,
        "elapsed_calendar_days": math.nan,
        "steps": 1,
        "materials": 0,
        "certificates": 0,
        "trips": 0.0,
        "fees_cny": 0.0,
        "send_backs": 0,
        "reforms_fired": "",
        "attributes": "{}",
        "arrival_date": pd.NaT,
        "end_date": pd.NaT,
    }
    records = []
    for index, given in enumerate(rows):
        row = {**defaults, "case_id": f"p-{index + 1:06d}", **given}
        elapsed = row.get("elapsed_working_days", math.nan)
        if row["status"] == "open":
            elapsed = math.nan
        row["elapsed_working_days"] = elapsed
        row.setdefault("approval_clock_days", elapsed)
        row["end_day"] = row["arrival_day"] + elapsed
        row["within_target"] = row["status"] == "completed" and elapsed <= 5
        if math.isnan(row["elapsed_calendar_days"]):
            row["elapsed_calendar_days"] = elapsed * 7 / 5
        records.append(row)
    return pd.DataFrame(records)[list(CASE_COLUMNS)]


def step_rows(rows: list[dict]) -> pd.DataFrame:
    """A step table with every schema column; each row needs ``ready_day``, ``queue_days``."""
    defaults = {
        "replication": 0,
        "variant": "baseline",
        "procedure": "p",
        "step": "a",
        "attempt": 1,
        "outcome": "accepted",
        "handling_days": 0.1,
        "waiting_days": 0.0,
        "ready_date": pd.NaT,
        "start_date": pd.NaT,
        "end_date": pd.NaT,
    }
    records = []
    for index, given in enumerate(rows):
        row = {**defaults, "case_id": f"p-{index + 1:06d}", **given}
        row["start_day"] = row["ready_day"] + row["queue_days"]
        row["handled_day"] = row["end_day"] = row["start_day"] + row["handling_days"]
        records.append(row)
    return pd.DataFrame(records)[list(STEP_COLUMNS)]
