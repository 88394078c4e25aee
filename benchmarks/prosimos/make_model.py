"""Write the standard model as BPMN + Prosimos JSON (run with the project's venv).

The files it writes (``standard_model.bpmn``, ``standard_model.json``) are committed;
run this again after changing ``standard_model.yaml`` or ``standard_scenario.yaml``.
One working day is 86,400 simulated seconds on a calendar open around the clock, so
Prosimos' clock is our working-day clock. Handling times are lognormal with the same
mean and variance; the 20% send-back is an exclusive gateway back to the review through
a timer event (the applicant's exponential resubmission delay). Staff are resource pools
of the scenario's sizes. Prosimos has no cap on resubmissions; at a 20% share the cap of
20 never binds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

from sim import load_scenario

HERE = Path(__file__).resolve().parent
DAY = 86_400.0
ALWAYS = "always"


def lognormal_params(distribution) -> list[dict]:
    mean = distribution.mean * DAY
    sigma = distribution.sigma
    variance = mean**2 * math.expm1(sigma**2)
    return [{"value": mean}, {"value": variance}, {"value": 0.0}, {"value": 1e12}]


def main() -> None:
    scenario = load_scenario(HERE.parent / "standard_scenario.yaml")
    demand = scenario.demands[0]
    procedure = demand.procedure
    steps = {step.id: step for step in procedure.steps}
    review = next(step for step in procedure.steps if step.send_back is not None)
    share = sum(m.probability_defective for m in review.materials)
    elements: list[str] = []
    flows: list[tuple[str, str, str]] = []

    def flow(source: str, target: str) -> str:
        flow_id = f"flow_{len(flows) + 1}"
        flows.append((flow_id, source, target))
        return flow_id

    def task(step_id: str) -> None:
        name = steps[step_id].name.en
        elements.append(f'<task id="{step_id}" name={quoteattr(name)} />')

    def gateway(kind: str, gateway_id: str) -> None:
        elements.append(f'<{kind} id="{gateway_id}" />')

    elements.append('<startEvent id="start" name="Arrival" />')
    elements.append('<endEvent id="end" name="Issued" />')
    for step_id in steps:
        task(step_id)
    # Parallel blocks: split after a step, join before the next.
    blocks = [
        ("intake", ["review_planning", "review_environment", "review_fire"], "joint_opinion"),
        ("technical_ok", ["site_survey", "fee_assessment"], "consolidation"),
        ("consolidation", ["permit_drafting", "legal_check"], "issue"),
    ]
    flow("start", "intake")
    for number, (before, branches, after) in enumerate(blocks, start=1):
        split, join = f"and_split_{number}", f"and_join_{number}"
        gateway("parallelGateway", split)
        gateway("parallelGateway", join)
        flow(before, split)
        for branch in branches:
            flow(split, branch)
            flow(branch, join)
        flow(join, after)
    # The send-back loop around the technical review.
    gateway("exclusiveGateway", "review_entry")
    gateway("exclusiveGateway", "technical_ok")
    elements.append(
        '<intermediateCatchEvent id="resubmission" name="Applicant corrects and resubmits">'
        '<timerEventDefinition id="resubmission_timer" /></intermediateCatchEvent>'
    )
    flow("joint_opinion", "review_entry")
    flow("review_entry", review.id)
    flow(review.id, "technical_ok")
    back = flow("technical_ok", "resubmission")
    flow("resubmission", "review_entry")
    # technical_ok is both the decision and the split of the second block: the flow to
    # and_split_2 carries the accepted files.
    onward = next(f for f, s, t in flows if s == "technical_ok" and t == "and_split_2")
    flow("issue", "end")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="standard_model" targetNamespace="http://approvalsim/benchmark">',
        '  <process id="standard_model" isExecutable="false">',
    ]
    lines += [f"    {element}" for element in elements]
    lines += [f'    <sequenceFlow id="{f}" sourceRef="{s}" targetRef="{t}" />' for f, s, t in flows]
    lines += ["  </process>", "</definitions>", ""]
    (HERE / "standard_model.bpmn").write_text("\n".join(lines), encoding="utf-8")

    staff = {agency.id: agency.staff for agency in scenario.agencies}
    always = [
        {"from": "MONDAY", "to": "SUNDAY", "beginTime": "00:00:00", "endTime": "23:59:59.999999"}
    ]
    parameters = {
        "resource_profiles": [
            {
                "id": f"pool_{agency}",
                "name": agency,
                "resource_list": [
                    {
                        "id": agency,
                        "name": agency,
                        "cost_per_hour": 1,
                        "amount": count,
                        "calendar": ALWAYS,
                        "assigned_tasks": [s.id for s in procedure.steps if s.agency == agency],
                    }
                ],
            }
            for agency, count in staff.items()
        ],
        "arrival_time_distribution": {
            "distribution_name": "expon",
            "distribution_params": [
                {"value": DAY / demand.arrivals_per_day},
                {"value": 0.0},
                {"value": 1e12},
            ],
        },
        "arrival_time_calendar": always,
        "gateway_branching_probabilities": [
            {
                "gateway_id": "technical_ok",
                "probabilities": [
                    {"path_id": back, "value": share},
                    {"path_id": onward, "value": 1 - share},
                ],
            }
        ],
        "task_resource_distribution": [
            {
                "task_id": step.id,
                "resources": [
                    {
                        "resource_id": step.agency,
                        "distribution_name": "lognorm",
                        "distribution_params": lognormal_params(step.handling),
                    }
                ],
            }
            for step in procedure.steps
        ],
        "resource_calendars": [{"id": ALWAYS, "name": ALWAYS, "time_periods": always}],
        "event_distribution": [
            {
                "event_id": "resubmission",
                "distribution_name": "expon",
                "distribution_params": [
                    {"value": review.send_back.response.mean * DAY},
                    {"value": 0.0},
                    {"value": 1e12},
                ],
            }
        ],
    }
    (HERE / "standard_model.json").write_text(json.dumps(parameters, indent=2) + "\n")
    print("wrote", HERE / "standard_model.bpmn", "and", HERE / "standard_model.json")


if __name__ == "__main__":
    main()
