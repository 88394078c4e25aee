"""The tutorials run end to end, write only to temporary folders, and convert to notebooks.

Each tutorial (a jupytext percent-format ``.py`` file) runs as a script in its own
process: the working directory is an empty folder that must stay empty (the tutorials
write only through `tempfile`), ``TMPDIR`` points into pytest's ``tmp_path`` so that
their temporary folders are cleaned up with it, and ``MPLBACKEND=Agg`` needs no display.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import PROJECT_ROOT

TUTORIALS = PROJECT_ROOT / "tutorials"

# Tutorial -> a file it must have written into its temporary folder.
EXPECTED = {
    "01_run_a_scenario.py": ("approvalsim_tutorial01_*", "report.html"),
    "02_write_a_procedure.py": ("approvalsim_tutorial02_*", "water_connection_city.yaml"),
    "03_reform_package.py": ("approvalsim_tutorial03_*", "paired_vs_unpaired.png"),
    "04_capacity_planning.py": ("approvalsim_tutorial04_*", "staff_sweep.png"),
    "05_working_days_and_clock.py": ("approvalsim_tutorial05_*", "gantt.png"),
    "06_how_the_engine_works.py": ("approvalsim_tutorial06_*", "one_case_simpy.csv"),
}


def test_every_tutorial_is_tested():
    assert sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_runs(name, tmp_path):
    workdir = tmp_path / "cwd"
    scratch = tmp_path / "tmp"
    workdir.mkdir()
    scratch.mkdir()
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "TMPDIR": str(scratch),
        "NO_COLOR": "1",
        "PYTHONHASHSEED": "0",
    }
    script = TUTORIALS / name
    code = f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-5000:]
    assert list(workdir.iterdir()) == [], "a tutorial wrote into the working directory"
    pattern, expected = EXPECTED[name]
    folders = list(scratch.glob(pattern))
    assert len(folders) == 1, f"{name} made no temporary folder {pattern} in {scratch}"
    assert (folders[0] / expected).is_file(), f"{name} did not write {expected}"


def _jupytext_command() -> list[str]:
    pytest.importorskip("jupytext")
    script = shutil.which("jupytext", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "jupytext"]


def test_tutorials_convert_to_notebooks(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    command = _jupytext_command()
    for script in sorted(TUTORIALS.glob("[0-9][0-9]_*.py")):
        target = tmp_path / f"{script.stem}.ipynb"
        done = subprocess.run(
            [*command, "--to", "ipynb", "--output", str(target), str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{script.name}: {done.stdout}\n{done.stderr}"
        notebook = nbformat.read(target, as_version=4)
        nbformat.validate(notebook)
        kinds = [cell.cell_type for cell in notebook.cells]
        assert kinds[0] == "markdown", f"{script.name} should open with an explanation"
        assert kinds.count("code") >= 3 and kinds.count("markdown") >= 3, script.name
        assert notebook.metadata["kernelspec"]["name"] == "python3"
        sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        assert "# %%" not in sources, f"{script.name}: a cell marker was not recognised"
