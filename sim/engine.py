"""The discrete-event engine: `simulate`, run compiled when it can be.

The engine itself is `sim.engine_core`, plain Python with type annotations. At install,
``setup.py`` compiles it with mypyc into a C extension that sits beside the source and
runs it in about half the time, with the same numbers (`tests/test_engine_compiled.py`
compares the two). The source runs instead, with the same results, when:

- there is no compiled module (no C compiler at install, or
  ``APPROVALSIM_PURE_PYTHON=1`` at install);
- the source was changed after the install (it is newer than the compiled module): a
  warning says so, and ``pip install -e .`` compiles it again;
- ``APPROVALSIM_PURE_PYTHON=1`` is set when running.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from sim.model import Model
from sim.records import Records
from sim.sampling import SharedDraws

SOURCE = Path(__file__).with_name("engine_core.py")
# Installing writes the source and then the compiled module; a wheel's files land within
# a moment of each other in any order, so only a clearly newer source counts as changed.
STALE_AFTER_SECONDS = 2.0


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once.

    Args:
        model: The resolved variant.
        seed_sequence: The replication's seed sequence (all randomness derives from it).
        replication: The replication's number, written into the records.
        shared: The replication's draws shared by its variants (`SharedDraws` of
            ``seed_sequence``), or None to make them here.

    Returns:
        The case and step rows of the run.
    """
    return core().simulate(model, seed_sequence, replication, shared)


def implementation() -> str:
    """``compiled`` or ``python``: which engine `simulate` runs."""
    return "compiled" if is_compiled(core()) else "python"


@cache
def core() -> ModuleType:
    """The engine module `simulate` runs: the compiled one if usable, else the source."""
    if os.environ.get("APPROVALSIM_PURE_PYTHON"):
        return python_core()
    try:
        from sim import engine_core
    except ImportError as error:  # a compiled module that cannot load here
        warnings.warn(
            f"the compiled engine does not load ({error}); running its Python source",
            stacklevel=2,
        )
        return python_core()
    if not is_compiled(engine_core):
        return engine_core
    compiled_at = Path(engine_core.__file__).stat().st_mtime
    if SOURCE.stat().st_mtime > compiled_at + STALE_AFTER_SECONDS:
        warnings.warn(
            f"{SOURCE} changed after the engine was compiled; running the source (slower). "
            "`pip install -e .` compiles it again.",
            stacklevel=2,
        )
        return python_core()
    return engine_core


@cache
def python_core() -> ModuleType:
    """The engine's Python source as a module, whether or not a compiled one exists."""
    name = "sim.engine_core_source"
    spec = importlib.util.spec_from_file_location(name, SOURCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def is_compiled(module: ModuleType) -> bool:
    """Whether an engine module was loaded from a C extension rather than from its source."""
    return module.COMPILED
