"""`add_staff`: more staff for an agency, for every procedure of the variant."""

from __future__ import annotations

from dataclasses import replace

from pydantic import Field, model_validator

from sim.inputs.schema import Identifier
from sim.reforms.base import Params, Reform, ReformType, VariantState


class AddStaffParams(Params):
    """`add_staff`: ``add`` to an agency's staff or ``set`` it."""

    agency: Identifier
    add: int | None = Field(default=None, ge=1, le=100000)
    set_to: int | None = Field(default=None, alias="set", ge=1, le=100000)

    @model_validator(mode="after")
    def _one_of(self) -> AddStaffParams:
        if (self.add is None) == (self.set_to is None):
            raise ValueError("give either `add:` or `set:` (staff members)")
        return self

    def touches(self, procedure: str) -> bool:
        """Any procedure may hold the agency's staff."""
        return True


def add_staff(params: AddStaffParams, reform: Reform, state: VariantState) -> None:
    """Staff of an agency increased by ``add`` or set to ``set`` (unlimited stays unlimited)."""
    agency = state.agencies[reform.agency(params.agency, "agency")]
    if params.set_to is not None:
        staff: int | None = params.set_to
    else:
        staff = None if agency.unlimited else agency.staff + params.add
    state.agencies[agency.id] = replace(agency, staff=staff)
    state.fired.append(reform.label)


TYPES = (ReformType("add_staff", AddStaffParams, add_staff),)
