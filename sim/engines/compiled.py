"""The discrete-event engine, run compiled when it can be.

The engine (`sim.engines.des` with its `sim.engines.kernel`) is plain Python with type
annotations; ``setup.py`` compiles both with mypyc at install, into C extensions beside
the sources that give the same numbers in about half the time. The sources run instead
when there is no compiled module (no C compiler at install), when a source was changed
after the install (a warning says so; ``pip install -e .`` compiles again), or when
``APPROVALSIM_PURE_PYTHON=1`` is set.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from sim.domain.model import Model
from sim.engines.draws import SharedDraws
from sim.engines.records import Records

# The compiled modules, in the order they import each other.
MODULES = ("sim.engines.kernel", "sim.engines.des")
SOURCES = tuple(Path(__file__).with_name(name.rsplit(".", 1)[1] + ".py") for name in MODULES)
# Installing writes the sources and then the compiled modules; a wheel's files land within
# a moment of each other in any order, so only a clearly newer source counts as changed.
STALE_AFTER_SECONDS = 2.0


def simulate(
    model: Model,
    seed_sequence: np.random.SeedSequence,
    replication: int = 0,
    shared: SharedDraws | None = None,
) -> Records:
    """Run one variant once with the discrete-event engine (`sim.engines.simulate`)."""
    return core().simulate(model, seed_sequence, replication, shared)


def implementation() -> str:
    """``compiled`` or ``python``: which engine `simulate` runs."""
    return "compiled" if core().COMPILED else "python"


@cache
def core() -> ModuleType:
    """The engine module `simulate` runs: the compiled one if usable, else the source."""
    if os.environ.get("APPROVALSIM_PURE_PYTHON"):
        return python_core()
    try:
        modules = [importlib.import_module(name) for name in MODULES]
    except ImportError as error:  # a compiled module that cannot load here
        warnings.warn(
            f"the compiled engine does not load ({error}); running its Python source",
            stacklevel=2,
        )
        return python_core()
    if not all(module.COMPILED for module in modules):
        return modules[-1]
    for name, source in zip(MODULES, SOURCES, strict=True):
        if source.stat().st_mtime > compiled_at(name) + STALE_AFTER_SECONDS:
            warnings.warn(
                f"{source} changed after the engine was compiled; running the source "
                "(slower). `pip install -e .` compiles it again.",
                stacklevel=2,
            )
            return python_core()
    return modules[-1]


def compiled_at(name: str) -> float:
    """When the compiled module of a name was written (0 when there is none)."""
    # A compiled module's own __file__ can be wrong when another module of its group
    # imported it first, so the file is looked up in the package's folder.
    stem = Path(__file__).with_name(name.rsplit(".", 1)[1])
    built = [Path(f"{stem}{suffix}") for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    return max((path.stat().st_mtime for path in built if path.is_file()), default=0.0)


@cache
def python_core() -> ModuleType:
    """The engine's Python sources as modules, whether or not compiled ones exist.

    Each source runs as a module of its own name with ``_source`` appended; while they
    run, the names they import (the kernel, for the engine) stand for the source modules.
    """
    loaded: dict[str, ModuleType] = {}
    saved = {name: sys.modules.get(name) for name in MODULES}
    try:
        for name, source in zip(MODULES, SOURCES, strict=True):
            spec = importlib.util.spec_from_file_location(f"{name}_source", source)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = sys.modules[name] = loaded[name] = module
            spec.loader.exec_module(module)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return loaded[MODULES[-1]]
