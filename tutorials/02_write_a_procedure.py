# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Write your own procedure from a published process map
#
# A procedure (事项) is what an applicant must get through, e.g. a water connection for a
# new business (用水报装). City governments publish it as a process map (流程图) in their
# service guides (办事指南): the steps (环节), which agency handles each, the materials to
# hand in (申请材料), the promised time limits. `approvalsim` reads the same information
# from a YAML file: one entry a step with its agency, its staff effort (`handling`, which
# holds a staff member), its elapsed waiting (`waiting`, which holds no one: a survey
# appointment, internal sign-off, the works themselves), its predecessors (`after:`), its
# materials with the chance each is missing or faulty (which sends the file back, 补正),
# trips (跑动), fees, and whether its time counts on the legal approval clock.
#
# The rule of the project: **every number says where it comes from** — a source document
# and item, or `assumption:` with the reason. A planner must be able to check it.
#
# Here we transcribe a small water-connection map: application → site survey → design and
# quotation → two permits for the external pipe, handled side by side → works →
# inspection and connection. We write it and a scenario beside it into a temporary
# folder, validate both, look at the error a typo gives, and run it.

# %%
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

import sim
from sim import load_procedure, load_scenario
from sim.domain.errors import InputError
from sim.engines.deterministic import schedule as critical_path
from sim.output.console import format_schedule as format_critical_path

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)

folder = Path(tempfile.mkdtemp(prefix="approvalsim_tutorial02_"))
print("working in", folder)

# %% [markdown]
# ## The procedure file
#
# The file name is the procedure's `id` plus `.yaml`; a scenario finds it in its own
# folder first (then in `../processes` and the bundled `processes/`). Distributions are
# named, never formulas: a bare number is a fixed time in working days, or e.g.
# `{type: triangular, min, mode, max}`. A step with `when:` applies only to the cases
# meeting the condition on their attributes (here: whether the connection needs pipe
# works on public land). Two steps with the same `after:` run side by side; a step listing
# both waits for the later one.
#
# What our (simplified) map says and where each number comes from:
#
# * the target, 10 working days including the approvals for the works: 宝政办函〔2022〕21号 二、21;
# * the permits for the external pipe in parallel, online: 宝政办函〔2022〕21号 二、22;
# * every duration and defect rate: assumptions of the right order, marked as such.

# %%
PROCEDURE = """\
# 用水报装 (process map of a mid-sized city, simplified), after the 2022 reforms.
id: water_connection_city
name: {zh: 用水报装（流程图）, en: Water connection (city process map)}
notes: >-
  Transcribed from a city's published process map for business water connections:
  application, site survey, design and quotation, then (only when a pipe must be laid on
  public land) the planning permit and the road works permit side by side, the external
  works, and finally inspection and connection.
target:
  working_days: 10
  source: "宝政办函〔2022〕21号 二、21 (用水报装时限(含施工审批)压缩至10个工作日以内)"
attributes:
  - id: needs_pipe_works
    kind: boolean
    probability: 0.4
    source: "assumption: about two in five business connections need a pipe on public land"
steps:
  - id: application
    name: {zh: 申请受理, en: Application}
    agency: water_company
    handling: {type: triangular, min: 0.02, mode: 0.05, max: 0.1}   # staff effort, working days
    waiting: 0.5   # registration, same or next day
    waiting_on_clock: true
    materials:
      - {id: licence, name: 营业执照及经办人身份证明, kind: main, probability_defective: 0.02}
      - {id: property_proof, name: 用水地址产权证明, kind: main, probability_defective: 0.05}
      - {id: water_use_form, name: 用水需求表, kind: minor, probability_defective: 0.10}
    send_back:
      response: {type: triangular, min: 1, mode: 2, max: 4}   # the applicant's correction time
      max_resubmissions: 2                                    # then the applicant gives up
    trips: 1
    source: "assumption: counter practice, order of magnitude"

  - id: site_survey
    name: {zh: 现场踏勘, en: Site survey}
    agency: water_company
    after: [application]
    handling: {type: triangular, min: 0.1, mode: 0.2, max: 0.4}
    waiting: {type: triangular, min: 0.5, mode: 1, max: 2}   # appointment
    waiting_on_clock: true
    source: "assumption: appointment within a day or two"

  - id: design_plan
    name: {zh: 方案设计及报价, en: Design and quotation}
    agency: water_company
    after: [site_survey]
    handling: {type: triangular, min: 0.2, mode: 0.3, max: 0.5}
    waiting: {type: triangular, min: 0.5, mode: 1, max: 2}   # internal sign-off
    waiting_on_clock: true
    trips: 1   # sign the works contract
    source: "assumption"

  - id: planning_permit
    name: {zh: 建设工程规划许可, en: Planning permit for the pipe}
    agency: natural_resources
    after: [design_plan]
    when: "needs_pipe_works"
    handling: {type: triangular, min: 0.1, mode: 0.2, max: 0.3}
    waiting: {type: triangular, min: 1, mode: 2, max: 3}
    waiting_on_clock: true
    materials:
      - {id: route_drawing, name: 管线路径图, kind: main, probability_defective: 0.05}
    send_back:
      response: {type: triangular, min: 1, mode: 2, max: 3}
      max_resubmissions: 2
    online: true
    source: "宝政办函〔2022〕21号 二、22 (全程在线并联办理); times assumed"

  - id: road_permit
    name: {zh: 涉路施工许可, en: Road works permit}
    agency: urban_management
    after: [design_plan]          # the same predecessor: runs side by side with planning_permit
    when: "needs_pipe_works"
    handling: {type: triangular, min: 0.1, mode: 0.2, max: 0.3}
    waiting: {type: triangular, min: 1, mode: 2, max: 3}
    waiting_on_clock: true
    materials:
      - {id: excavation_plan, name: 挖掘道路平面图, kind: main, probability_defective: 0.05}
      - {id: traffic_plan, name: 交通疏导方案, kind: minor, probability_defective: 0.10}
    send_back:
      response: {type: triangular, min: 1, mode: 2, max: 3}
      max_resubmissions: 2
    online: true
    source: "宝政办函〔2022〕21号 二、22 (全程在线并联办理); times assumed"

  - id: external_works
    name: {zh: 外线工程施工, en: External pipe works}
    agency: water_company
    after: [planning_permit, road_permit]   # waits for both permits
    when: "needs_pipe_works"
    handling: {type: triangular, min: 0.3, mode: 0.5, max: 1.0}   # crew effort
    waiting: {type: triangular, min: 1, mode: 2, max: 4}           # the works
    waiting_on_clock: true
    source: "assumption: a short pipe, a few days of works"

  - id: connection
    name: {zh: 验收通水, en: Inspection and connection}
    agency: water_company
    after: [external_works]       # a case without works goes straight from design_plan
    handling: {type: triangular, min: 0.1, mode: 0.2, max: 0.4}
    waiting: {type: triangular, min: 0.5, mode: 1, max: 2}   # pressure test, meter
    waiting_on_clock: true
    trips: 1   # sign the supply contract
    source: "assumption"
"""

procedure_file = folder / "water_connection_city.yaml"
procedure_file.write_text(PROCEDURE, encoding="utf-8")
print("wrote", procedure_file)

# %% [markdown]
# ## The scenario beside it
#
# A scenario says which procedures run, how many cases arrive per working day (Poisson
# arrivals), which agencies there are and how many staff each has (shared by all
# procedures), when the calendar starts, how long cases arrive (`working_days`) and how
# long the run goes on afterwards so that late cases can finish (`drain_working_days`),
# the seed and the replications. Staff numbers are staff working on these procedures,
# not whole-agency headcounts.

# %%
SCENARIO = """\
name: water_city
title: "用水报装流程图 (water connection, city process map)"
seed: 20250303
replications: 2
calendar:
  start: 2025-03-03
horizon:
  working_days: 60            # about three months of arrivals
  drain_working_days: 40      # time for the last cases to finish
agencies:
  - id: water_company
    name: {zh: 自来水公司, en: Water supply company}
    staff: 5
    source: "assumption: connection staff; about 3.2 staff-days of work arrive a working day"
  - id: natural_resources
    name: {zh: 自然资源和规划局, en: Natural resources and planning bureau}
    staff: 1
    source: "assumption: one officer on utility permits"
  - id: urban_management
    name: {zh: 城市管理综合执法局, en: Urban management bureau}
    staff: 1
    source: "assumption: one officer on road works permits"
procedures:
  - procedure: water_connection_city
    arrivals_per_day: 3
    source: "assumption: about 700 business connections a year"
"""

scenario_file = folder / "water_city.yaml"
scenario_file.write_text(SCENARIO, encoding="utf-8")
print("wrote", scenario_file)

# %% [markdown]
# ## Validate
#
# `load_procedure` checks one procedure file; `load_scenario` checks the scenario and
# every procedure it names (agencies declared, steps in `after:` exist, no cycles,
# conditions name real attributes, the calendar covers the horizon, the reforms fit).
# On the command line the same check is `approvalsim validate FILE ...`.

# %%
procedure = load_procedure(procedure_file)
print(f"procedure '{procedure.id}': {len(procedure.steps)} steps, target {procedure.target_days:g}")
for step in procedure.steps:
    after = ", ".join(step.after) or "-"
    condition = f"  (only when {step.when.text})" if step.when is not None else ""
    print(f"  {step.id:16s} {step.agency:18s} after: {after}{condition}")

scenario = load_scenario(scenario_file)
print(f"scenario '{scenario.name}' is valid: {len(scenario.calendar)} working days in its calendar")

# %%
command = [sys.executable, "-m", "sim", "validate", str(procedure_file), str(scenario_file)]
done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
print(done.stdout.strip(), "| exit code", done.returncode)

# %% [markdown]
# ## What a typo looks like
#
# Any mistake stops with **one line naming the file, the line and the field**, and what to
# do about it (on the command line: exit code 2 and nothing written). In Python it is a
# `sim.errors.InputError` with `file`, `line`, `field` and `message`. Two common typos:
# a misspelt step in `after:` and a misspelt key.

# %%
typos = {
    "a misspelt predecessor": ("after: [site_survey]", "after: [site_survy]"),
    "a misspelt key": ("waiting: 0.5", "waitng: 0.5"),
}
for what, (right, wrong) in typos.items():
    broken = Path(tempfile.mkdtemp(prefix="approvalsim_typo_")) / "water_connection_city.yaml"
    broken.write_text(PROCEDURE.replace(right, wrong, 1), encoding="utf-8")
    try:
        load_procedure(broken)
    except InputError as error:
        print(f"{what}:\n  {error}")
        print(f"  -> line {error.line}, field {error.field}\n")
    else:
        raise AssertionError("the typo was not caught")

# %% [markdown]
# The command line says the same and exits with code 2:

# %%
done = subprocess.run(
    [sys.executable, "-m", "sim", "validate", str(broken)],
    capture_output=True,
    text=True,
    env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
)
print((done.stdout + done.stderr).strip(), "| exit code", done.returncode)

# %% [markdown]
# ## A first reading without randomness
#
# Before simulating, a fixed-time method gives one number: each step takes its typical
# time (or its declared `fixed_days`), steps run as soon as their predecessors end, and
# the total is the end of the critical path. Two ways of counting it: `cn`, as the
# Chinese process maps count committed times (working days, no minimum, steps side by
# side start together), the default for a target in working days; and `db`, the Doing
# Business rules (calendar days on the calendar, at least a day a step, half a day
# online, steps that could start together on consecutive days). Both ignore queues and
# send-backs, so they are a floor for a case that needs pipe works, not a forecast.

# %%
for method in ("cn", "db"):
    timed = critical_path(procedure, scenario.calendar, method=method)
    print(format_critical_path(timed, lang="en"), end="\n\n")

# %% [markdown]
# ## Run it
#
# Two replications of about 180 cases each, serially in this process.

# %%
result = sim.run(scenario, replications=2, executor="serial")
result.summary[
    [
        "procedure",
        "arrived",
        "completed",
        "withdrawn",
        "mean_days",
        "p90_days",
        "share_within_target",
        "share_within_target_low",
        "share_within_target_high",
        "trips",
        "materials",
    ]
].round(2)

# %% [markdown]
# And per group of cases, from the case table (attributes are stored as JSON):

# %%
cases = result.cases.copy()
cases["needs_pipe_works"] = cases["attributes"].str.contains('"needs_pipe_works": true')
cases.groupby("needs_pipe_works").agg(
    cases=("case_id", "size"),
    mean_days=("elapsed_working_days", "mean"),
    share_within_target=("within_target", "mean"),
    send_backs=("send_backs", "mean"),
).round(2)

# %% [markdown]
# Check the staffing before reading the times: an agency whose utilisation reaches 1
# cannot keep up, its queue grows for as long as cases arrive, and every figure above
# then says more about the staff number you assumed than about the procedure. (With 3
# water-company staff instead of 5 this scenario would be overloaded: try it.)

# %%
result.agencies[
    ["agency", "staff", "utilisation", "mean_queue_days", "overloaded", "warning"]
].round(2)

# %% [markdown]
# **Reading it.** With the permits side by side and online, connections without pipe
# works finish well inside 10 working days; most of those with pipe works still miss it
# by a day or two (permits, then the works, then the inspection, one after another). The
# share within target of that group is the number to watch, and to check against the
# city's own statistics before trusting the assumptions. Next: tutorial 3 turns reforms
# into scenario variants and compares them with the baseline.
