"""The file formats, as pydantic models: what a procedure, scenario or override file may say.

These models check shapes, types and ranges field by field; cross-references (steps named
in ``after:``, agencies, attributes in conditions, cycles) are checked by the loader.
`sim.inputs.validation` turns a failure into one message naming the file, line and field.
Reform parameters are checked by each reform's own model (`sim.reforms`).
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="lower-case letters, digits and underscores, starting with a letter",
    ),
]
# Staff of one agency, and replications of one run: far above any real need.
MAX_STAFF = 100_000
MAX_REPLICATIONS = 100_000
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[float, Field(ge=0.0, le=1000.0)]
DistributionSpec = Annotated[
    float | dict[str, Any],
    Field(description="a number (fixed) or a mapping with `type:` and named parameters"),
]


def _takes(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a (possibly nested: Annotated, Union, Optional) annotation admits a kind."""
    if annotation in kinds:
        return True
    return any(_takes(arg, kinds) for arg in get_args(annotation))


class Strict(BaseModel):
    """Base: unknown fields are errors, models are frozen, true/false is not a number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_false_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Lax pydantic reads YAML `true` as 1 where a number is expected: a silent wrong
        # number (`handling: true` would be one working day).
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if _takes(annotation, (int, float)) and not _takes(annotation, (bool,)):
                raise ValueError(f"must be a number, not {str(value).lower()}")
        return value


def _date(value: Any) -> datetime.date:
    """A date written YYYY-MM-DD (a number such as 0 is not read as a time stamp)."""
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"{value!r} is not a date; write dates as YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:  # e.g. 2025-02-30: "day is out of range for month"
        raise ValueError(f"{value!r} is not a date ({error})") from None


DateText = Annotated[datetime.date, BeforeValidator(_date)]


class NameSpec(Strict):
    """A name in Chinese and English."""

    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)


class TargetSpec(Strict):
    """The published target of a procedure, in working days or in calendar days."""

    working_days: float | None = Field(default=None, gt=0, le=10000)
    calendar_days: float | None = Field(default=None, gt=0, le=10000)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_unit(self) -> TargetSpec:
        if (self.working_days is None) == (self.calendar_days is None):
            raise ValueError("give either `working_days:` or `calendar_days:`")
        return self

    @property
    def days(self) -> float:
        """The target in its unit."""
        return self.working_days if self.working_days is not None else self.calendar_days

    @property
    def unit(self) -> str:
        """``working_days`` or ``calendar_days``."""
        return "working_days" if self.working_days is not None else "calendar_days"


def _in_working_days(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number of days, not {str(value).lower()}")
    if isinstance(value, int | float):
        return {"working_days": value}
    return value


class FixedTimeSpec(Strict):
    """A step's fixed time in working days or in calendar days."""

    working_days: float | None = Field(default=None, ge=0, le=10000)
    calendar_days: float | None = Field(default=None, ge=0, le=10000)

    @model_validator(mode="after")
    def _one_unit(self) -> FixedTimeSpec:
        if (self.working_days is None) == (self.calendar_days is None):
            raise ValueError("give either `working_days:` or `calendar_days:`")
        return self


class AttributeSpec(Strict):
    """A case attribute sampled per case."""

    id: Identifier
    kind: Literal["categorical", "boolean", "numeric"]
    shares: dict[str, Probability] | None = None
    probability: Probability | None = None
    distribution: DistributionSpec | None = None
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> AttributeSpec:
        needed = {"categorical": "shares", "boolean": "probability", "numeric": "distribution"}
        wanted = needed[self.kind]
        for name in needed.values():
            given = getattr(self, name) is not None
            if name == wanted and not given:
                raise ValueError(f"a {self.kind} attribute needs `{wanted}:`")
            if name != wanted and given:
                raise ValueError(f"a {self.kind} attribute takes `{wanted}:`, not `{name}:`")
        if self.kind == "categorical":
            assert self.shares is not None
            if not self.shares:
                raise ValueError("`shares:` lists no values")
            total = sum(self.shares.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"shares must add up to 1 (they add up to {total:g})")
        return self


class MaterialSpec(Strict):
    """A document handed in at a step."""

    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["main", "minor"]
    probability_defective: Probability = 0.0
    probability_still_defective: Probability | None = None


class SendBackSpec(Strict):
    """The send-back (补正) loop of a step."""

    response: DistributionSpec
    max_resubmissions: int = Field(ge=0, le=20)


class StepSpec(Strict):
    """A step of a procedure."""

    id: Identifier
    name: NameSpec
    agency: Identifier
    handling: DistributionSpec
    waiting: DistributionSpec = 0.0
    after: list[Identifier] = Field(default_factory=list)
    materials: list[MaterialSpec] = Field(default_factory=list)
    send_back: SendBackSpec | None = None
    trips: Count = 0.0
    fees_cny: float = Field(default=0.0, ge=0.0, le=1e9)
    certificates: int = Field(default=0, ge=0, le=1000)
    handling_on_clock: bool = True
    waiting_on_clock: bool = False
    online: bool = False
    when: str | None = None
    # A bare number is working days.
    fixed_days: Annotated[FixedTimeSpec | None, BeforeValidator(_in_working_days)] = None
    waiting_unit: Literal["working_days", "calendar_days"] = "working_days"
    not_a_procedure: bool = False
    source: str = Field(min_length=1)

    @field_validator("after")
    @classmethod
    def _no_repeats(cls, after: list[str]) -> list[str]:
        repeated = sorted({name for name in after if after.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return after


class ProcedureSpec(Strict):
    """A procedure file."""

    id: Identifier
    name: NameSpec
    target: TargetSpec
    attributes: list[AttributeSpec] = Field(default_factory=list)
    steps: list[StepSpec] = Field(min_length=1, max_length=500)
    notes: str | None = None


class AgencySpec(Strict):
    """An agency and its staff; `unlimited` means no queueing at all."""

    id: Identifier
    name: NameSpec
    staff: int | Literal["unlimited"] = Field(union_mode="left_to_right")
    source: str = Field(min_length=1)

    @field_validator("staff")
    @classmethod
    def _staff_range(cls, staff: int | str) -> int | str:
        if isinstance(staff, int) and not 0 <= staff <= MAX_STAFF:
            raise ValueError(f"staff must be between 0 and {MAX_STAFF} (or `unlimited`)")
        return staff


class DemandSpec(Strict):
    """A procedure of the scenario and its arrivals."""

    procedure: Identifier
    arrivals_per_day: float = Field(ge=0.0, le=100000.0)
    source: str = Field(min_length=1)


class HorizonSpec(Strict):
    """Arrivals for a number of working days, or up to a date (inclusive)."""

    working_days: float | None = Field(default=None, gt=0, le=5000)
    until: DateText | None = None
    drain_working_days: float = Field(default=120.0, ge=0, le=5000)
    warmup_working_days: float = Field(default=0.0, ge=0, le=5000)

    @model_validator(mode="after")
    def _one_of(self) -> HorizonSpec:
        if (self.working_days is None) == (self.until is None):
            raise ValueError("give either `working_days:` or `until:` (a date)")
        return self


class CalendarSpec(Strict):
    """Where the clock starts, which days are worked, and which extra years are declared.

    The Chinese working-day calendar unless ``country:`` names a country of the
    `holidays` package (ISO 3166 code, e.g. ``IT``) or ``days:`` says ``weekdays``
    (Monday to Friday) or ``all`` (every calendar day).
    """

    start: DateText
    overrides: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=10)
    days: Literal["weekdays", "all"] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> CalendarSpec:
        if self.country is not None and self.days is not None:
            raise ValueError("give `country:` or `days:`, not both")
        return self


def _method_only(value: Any) -> Any:
    return {"method": value} if isinstance(value, str) else value


class CountingSpec(Strict):
    """How the deterministic engine counts (`sim.domain.model.Counting`)."""

    method: Literal["cn", "db"] | None = None
    edition: int | None = Field(default=None, ge=2003, le=2020)
    indicator: (
        Literal[
            "starting_a_business",
            "dealing_with_construction_permits",
            "getting_electricity",
            "registering_property",
        ]
        | None
    ) = None
    minimum_one_day: bool | None = None
    online_half_day: bool | None = None
    consecutive_starts: bool | None = None
    include_conditional: bool = True


class ReformEntry(BaseModel):
    """A reform in a variant; its parameters are checked by the reform catalogue."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Identifier
    label: str | None = Field(default=None, max_length=120)
    source: str = Field(min_length=1)


def _both_languages(value: Any) -> Any:
    if isinstance(value, str):
        return {"zh": value, "en": value}
    return value


class VariantSpec(Strict):
    """A named variant: the baseline plus reforms applied in order."""

    name: Identifier
    # A title in both languages, or one text for both.
    title: Annotated[NameSpec | None, BeforeValidator(_both_languages)] = None
    reforms: list[ReformEntry] = Field(default_factory=list)
    source: str | None = None

    @field_validator("name")
    @classmethod
    def _not_baseline(cls, name: str) -> str:
        if name == "baseline":
            raise ValueError("`baseline` is the scenario without reforms; pick another name")
        return name


class ScenarioSpec(Strict):
    """A scenario file."""

    name: Identifier
    title: str = Field(min_length=1, max_length=200)
    description: str | None = None
    seed: int = Field(ge=0, le=2**63 - 1)
    replications: int = Field(default=1, ge=1, le=MAX_REPLICATIONS)
    calendar: CalendarSpec
    horizon: HorizonSpec
    agencies: list[AgencySpec] = Field(min_length=1)
    procedures: list[DemandSpec] = Field(min_length=1)
    variants: list[VariantSpec] = Field(default_factory=list)
    # A bare `cn` or `db` is the method.
    counting: Annotated[CountingSpec | None, BeforeValidator(_method_only)] = None
    allow_absolute_paths: bool = False


class YearSpec(Strict):
    """The working-day arrangement of one year: weekdays off and weekends worked (调休)."""

    year: int = Field(ge=1, le=9999)
    holidays: list[DateText] | None = None
    working_weekends: list[DateText] | None = None
    source: str | None = None


class OverridesSpec(Strict):
    """A calendar override file: the years chinesecalendar does not know (or corrections)."""

    years: list[YearSpec]
