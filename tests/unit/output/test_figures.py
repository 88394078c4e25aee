"""The figures module: plot functions draw into given axes; it alone imports matplotlib."""

from __future__ import annotations

import re
import subprocess
import sys

from sim.inputs.loader import PROJECT_ROOT


def test_plot_functions_draw_into_a_given_axes(small_run):
    from matplotlib.figure import Figure

    from sim.output import figures as plots

    result, contributions = small_run
    scenario = result.scenario
    figure = Figure()
    first, second = figure.subplots(1, 2)
    assert plots.plot_cycle_times(result.cases, "proc", scenario, ax=first, lang="en") is figure
    assert plots.plot_waterfall(contributions, "proc", scenario, ax=second) is figure
    alone = plots.plot_share_within_target(result.summary, "proc", scenario, lang="en")
    assert isinstance(alone, Figure) and alone is not figure


def test_only_the_plot_module_imports_matplotlib(tmp_path):
    code = (
        "import sys, sim, sim.output.report, sim.output.eventlog, sim.analysis.casepath, sim.analysis.contributions, sim.cli;"
        "bad = [m for m in ('matplotlib', 'simpy') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    importing = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in (PROJECT_ROOT / "sim").rglob("*.py")
        if re.search(r"^\s*(import|from)\s+matplotlib", path.read_text(encoding="utf-8"), re.M)
    ]
    assert importing == ["sim/output/figures.py"]
