"""The test suite, in the layout of the package.

- ``unit/<layer>/``: one file a module or topic of ``sim/<layer>/`` (domain, inputs,
  reforms, engines, run, analysis, output); exact traces with fixed durations.
- ``conformance/``: every engine of ``sim.engines.ENGINES`` against the record schema and
  the model's rules (``test_engines.py``, with its table of what each engine models),
  and engines against each other case by case.
- ``theory/``: statistics against queueing and probability theory with stated
  tolerances, and hypothesis properties of the distributions, the model and the engine.
- ``system/``: the command line end to end, the bad-input corpus (``bad_inputs/``),
  fuzzing, failure safety, security, the tutorials.
- ``regression/``: labelled pins of fixed runs of the bundled files.

``factories.py`` builds inputs (YAML written into ``tmp_path``, model objects, hand-made
tables); ``conftest.py`` holds the shared fixtures. ``python -m pytest -q`` runs all but
the slow tests (``@pytest.mark.slow``); ``python -m pytest -q -m slow`` runs those.
"""
