"""Build: the discrete-event engine compiled with mypyc where it can be (`sim.engines.compiled`).

Everything else is in pyproject.toml. The compiled engine is optional: without a C
compiler, or with APPROVALSIM_PURE_PYTHON=1, the package installs as plain Python and
gives the same numbers, more slowly.
"""

import os

from setuptools import setup

ENGINE = ["sim/engines/kernel.py", "sim/engines/des.py"]


def engine_extensions() -> list:
    """The engine as C extensions, or none if mypyc cannot make them."""
    if os.environ.get("APPROVALSIM_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify

        # The engine's imports are not type-checked (the build has only setuptools and
        # mypy): they count as untyped, which changes nothing in the engine's own code.
        options = ["--ignore-missing-imports", "--follow-imports=skip"]
        extensions = mypycify([*options, *ENGINE], opt_level="3", group_name="sim.engines.native")
    except (Exception, SystemExit) as error:  # mypyc exits on a type error
        print(f"approvalsim: engine not compiled ({error!r}); it runs as Python")
        return []
    for extension in extensions:
        extension.optional = True  # a failed C build leaves the Python engine
    return extensions


setup(ext_modules=engine_extensions())
