"""Resuming: finished replications are read back, only what is missing is computed."""

from __future__ import annotations

import pytest

from sim import load_scenario
from sim.run.experiment import run_experiment
from tests.factories import table_bytes


def test_resume_computes_only_what_is_missing(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    first = run_experiment(scenario, replications=2, seed=1, cache=cache)
    assert first.computed == 2
    again = run_experiment(scenario, replications=3, seed=1, cache=cache)
    assert again.computed == 1
    fresh = run_experiment(scenario, replications=3, seed=1)
    assert table_bytes(again) == table_bytes(fresh)
    other_seed = run_experiment(scenario, replications=1, seed=2, cache=cache)
    assert other_seed.run_id != first.run_id and other_seed.computed == 1


def test_resume_recomputes_replications_saved_without_the_steps_now_wanted(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    run_experiment(scenario, replications=2, seed=1, cache=cache)
    again = run_experiment(scenario, replications=2, seed=1, cache=cache, steps="all")
    assert again.computed == 1
    assert set(again.steps.replication) == {0, 1}


def test_resume_recomputes_replications_saved_without_the_cases_now_wanted(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    first = run_experiment(scenario, replications=3, seed=1, cache=cache, cases="first")
    assert set(first.cases.replication) == {0}
    again = run_experiment(scenario, replications=3, seed=1, cache=cache, cases="all")
    assert again.computed == 2
    assert set(again.cases.replication) == {0, 1, 2}
    fresh = run_experiment(scenario, replications=3, seed=1)
    assert table_bytes(again) == table_bytes(fresh)


# --------------------------------------------------------------------------- what is read back


def _first_run(scenario_path, tmp_path):
    scenario = load_scenario(scenario_path)
    cache = tmp_path / "cache"
    first = run_experiment(scenario, replications=2, seed=1, cache=cache)
    return scenario, cache, cache / first.run_id


def test_a_planted_pickle_is_never_loaded(scenario_path, tmp_path):
    # Resume once unpickled whatever sat in runs/<run id>/: a planted pickle ran code.
    import os
    import pickle

    scenario, cache, folder = _first_run(scenario_path, tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for path in folder.glob("replication_*.npz"):
        path.unlink()
    for number in range(2):
        (folder / f"replication_{number:05d}.pkl").write_bytes(pickle.dumps(Payload()))
    again = run_experiment(scenario, replications=2, seed=1, cache=cache)
    assert not marker.exists()
    assert again.computed == 2


def _tampered(path, change):
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    change(arrays)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


@pytest.mark.parametrize(
    "tamper",
    ["object-array", "run-id", "rows", "extra", "compressed", "truncated", "offsets", "codes"],
)
def test_a_file_that_does_not_match_is_refused_and_computed_again(scenario_path, tmp_path, tamper):
    import json
    import zipfile

    import numpy as np

    from sim.run.cache import replication_file

    scenario, cache, folder = _first_run(scenario_path, tmp_path)
    path = replication_file(folder, 1)

    def header(arrays, **changes):
        data = json.loads(arrays["header"].tobytes())
        for key, value in changes.items():
            if key == "rows":
                data["tables"]["cases"]["rows"] = value
            else:
                data[key] = value
        arrays["header"] = np.frombuffer(json.dumps(data).encode(), dtype=np.uint8)

    if tamper == "object-array":  # a pickle inside the archive
        path.unlink()
        with path.open("wb") as handle:
            np.savez(handle, header=np.array([{"a": 1}], dtype=object))
    elif tamper == "run-id":
        _tampered(path, lambda arrays: header(arrays, run_id="someoneelse"))
    elif tamper == "rows":
        _tampered(path, lambda arrays: header(arrays, rows=3))
    elif tamper == "extra":
        _tampered(path, lambda arrays: arrays.update(extra=np.zeros(3)))
    elif tamper == "compressed":
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
        with zipfile.ZipFile(path) as archive:
            assert archive.infolist()[0].compress_type != zipfile.ZIP_STORED
    elif tamper == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif tamper == "offsets":
        _tampered(path, lambda arrays: arrays.update({"cases.1.offsets": np.array([0, 10**9])}))
    elif tamper == "codes":
        codes = "cases.1.codes"
        _tampered(path, lambda arrays: arrays.update({codes: arrays[codes] + 1000}))
    again = run_experiment(scenario, replications=2, seed=1, cache=cache)
    assert again.computed == 1
    assert len(again.notes) == 1 and "replication_00001.npz" in again.notes[0]
    fresh = run_experiment(scenario, replications=2, seed=1)
    assert table_bytes(again) == table_bytes(fresh)


def test_tables_come_back_with_their_types(scenario_path, tmp_path):
    import pandas as pd

    from sim.run.cache import read_replication, replication_file

    scenario = load_scenario(scenario_path)
    result = run_experiment(scenario, replications=1, seed=4, steps="all")
    save = tmp_path / "kept"
    save.mkdir()
    from sim.run.cache import save_finished

    tables = {"cases": result.cases, "steps": result.steps, "busy": result.busy,
              "queues": result.queues, "figures": result.figures}  # fmt: skip
    save_finished(save, "run", 0, tables)
    back = read_replication(replication_file(save, 0), "run", 0)
    for name, table in tables.items():
        # Text comes back as pandas' text type (the figures' names are made as objects).
        pd.testing.assert_frame_equal(
            back[name], table, check_exact=True, check_dtype=name != "figures"
        )
