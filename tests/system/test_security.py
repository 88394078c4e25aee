"""Security: conditions cannot run code or read files, YAML cannot build Python objects,
file paths in a scenario stay in its folder unless absolute paths are allowed, and a local
Dask cluster listens on loopback only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim import load_scenario
from sim.domain.conditions import ConditionError, compile_condition
from sim.domain.errors import InputError
from tests.factories import BAD_INPUTS, OVERRIDE_2027

VALID = BAD_INPUTS / "_valid"
KINDS = {"big": "boolean", "size": "categorical", "investment": "numeric"}

PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w') != null",
    "eval('1') == 1",
    "exec('import os')",
    "size.__class__.__name__ == 'str'",
    "size.__class__.__mro__[1].__subclasses__().length > 0",
    "big.__init__.__globals__ != null",
    "$random(1) > 0.5",
    "$now > $parse_datetime('2020-01-01')",
    "$today.year == 2025",
    "$range(1000000000).length > 0",
    "[x for x in $range(100000000)].length > 0",
    "$re_groups.length > 0",
    "size =~ '.*' and $split('{marker}').length > 0",
    "lambda: 1",
    "import os",
    "big; import os",
    "`touch {marker}`",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_conditions_cannot_run_code_read_files_or_reach_the_clock(tmp_path, payload):
    # Conditions are rule-engine expressions over declared attributes only: no Python,
    # no attribute access to internals, no `$` built-ins (clock, random numbers, ranges).
    marker = tmp_path / "pwned"
    text = payload.format(marker=marker)
    with pytest.raises(ConditionError) as caught:
        compile_condition(text, KINDS)
    assert str(caught.value).strip()
    assert not marker.exists()


def test_a_safe_condition_still_compiles():
    condition = compile_condition('big and size in ["small", "large"] and investment < 50', KINDS)
    assert condition.evaluate({"big": True, "size": "small", "investment": 10.0})
    assert not condition.evaluate({"big": False, "size": "small", "investment": 10.0})


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:os.system ['touch {marker}']",
        "!!python/name:os.system",
    ],
)
def test_yaml_tags_do_not_build_python_objects(tmp_path, tagged):
    work = tmp_path / "case"
    shutil.copytree(VALID, work)
    marker = tmp_path / "pwned"
    text = (work / "scenario.yaml").read_text(encoding="utf-8")
    (work / "scenario.yaml").write_text(
        text.replace("title: corpus base scenario", "title: " + tagged.format(marker=marker)),
        encoding="utf-8",
    )
    with pytest.raises(InputError):
        load_scenario(work / "scenario.yaml")
    assert not marker.exists()


# --------------------------------------------------------------------------- paths

def scenario_with_override(tmp_path: Path, name: str, allow: bool = False) -> Path:
    """A copy of the valid scenario starting in December 2026 with `overrides: name`."""
    work = tmp_path / "case"
    shutil.copytree(VALID, work)
    text = (work / "scenario.yaml").read_text(encoding="utf-8")
    text = text.replace("  start: 2025-03-03\n", f"  start: 2026-12-01\n  overrides: '{name}'\n")
    if allow:
        text += "allow_absolute_paths: true\n"
    (work / "scenario.yaml").write_text(text, encoding="utf-8")
    return work / "scenario.yaml"


def test_an_override_beside_the_scenario_is_read(tmp_path):
    path = scenario_with_override(tmp_path, "holidays.yaml")
    (path.parent / "holidays.yaml").write_text(OVERRIDE_2027, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.calendar.date_of(scenario.horizon.end).year == 2027


def test_an_override_in_a_subfolder_is_read(tmp_path):
    path = scenario_with_override(tmp_path, "calendars/holidays.yaml")
    (path.parent / "calendars").mkdir()
    (path.parent / "calendars" / "holidays.yaml").write_text(OVERRIDE_2027, encoding="utf-8")
    load_scenario(path)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../../../../../../etc/passwd", "lies outside the scenario's folder"),
        ("../holidays.yaml", "lies outside the scenario's folder"),
        ("calendars/../../holidays.yaml", "lies outside the scenario's folder"),
        ("/etc/passwd", "allow_absolute_paths: true"),
        ("a\x00b", "not a file name"),
    ],
    ids=["etc-passwd", "parent", "dot-dot-inside", "absolute", "nul"],
)
def test_override_paths_cannot_leave_the_scenario_folder(tmp_path, name, words):
    path = scenario_with_override(tmp_path, name.replace("\x00", "\\0"))
    if "\x00" in name:  # YAML single quotes do not unescape: write it double-quoted
        text = path.read_text(encoding="utf-8").replace("'a\\0b'", '"a\\0b"')
        path.write_text(text, encoding="utf-8")
    (tmp_path / "holidays.yaml").write_text(OVERRIDE_2027, encoding="utf-8")
    with pytest.raises(InputError, match=words) as caught:
        load_scenario(path)
    assert caught.value.field == "calendar.overrides"
    assert caught.value.line == 8


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(OVERRIDE_2027, encoding="utf-8")
    path = scenario_with_override(tmp_path, "holidays.yaml")
    (path.parent / "holidays.yaml").symlink_to(outside)
    with pytest.raises(InputError, match="lies outside the scenario's folder"):
        load_scenario(path)


def test_absolute_paths_only_when_allowed(tmp_path):
    elsewhere = tmp_path / "shared" / "holidays_2027.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(OVERRIDE_2027, encoding="utf-8")
    refused = scenario_with_override(tmp_path / "a", str(elsewhere))
    with pytest.raises(InputError, match="allow_absolute_paths"):
        load_scenario(refused)
    allowed = scenario_with_override(tmp_path / "b", str(elsewhere), allow=True)
    assert load_scenario(allowed).calendar.date_of(0).year == 2026
    # The opt-in is for absolute paths: a relative path must still stay in the folder.
    relative = scenario_with_override(tmp_path / "c", "../../shared/holidays_2027.yaml", True)
    with pytest.raises(InputError, match="lies outside"):
        load_scenario(relative)
    missing = scenario_with_override(tmp_path / "d", str(tmp_path / "none.yaml"), allow=True)
    with pytest.raises(InputError, match="no file"):
        load_scenario(missing)


def test_procedure_ids_cannot_be_paths(tmp_path):
    work = tmp_path / "case"
    shutil.copytree(VALID, work)
    text = (work / "scenario.yaml").read_text(encoding="utf-8")
    for name in ("../proc", "/etc/passwd", "proc.yaml", "PROC"):
        (work / "scenario.yaml").write_text(
            text.replace("{procedure: proc,", f"{{procedure: '{name}',"), encoding="utf-8"
        )
        with pytest.raises(InputError, match="lower-case letters") as caught:
            load_scenario(work / "scenario.yaml")
        assert caught.value.field == "procedures[0].procedure"


# --------------------------------------------------------------------------- Dask


def _listening(process) -> set[tuple[str, int]]:
    """(ip, port) of the TCP sockets listening in a process and its children."""
    found = set()
    for each in [process, *process.children(recursive=True)]:
        try:
            connections = each.net_connections(kind="tcp")
        except Exception:  # noqa: BLE001 - a child that just exited
            continue
        found |= {c.laddr[:2] for c in connections if c.status == "LISTEN"}
    return found


def test_local_dask_cluster_listens_on_loopback_only():
    # Without --scheduler the run starts a local cluster: its scheduler, workers, nannies
    # and the scheduler's HTTP server must listen on 127.0.0.1 only, never on a network.
    pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    from sim.run.executors import _dask_executor

    me = psutil.Process()
    before = _listening(me)
    executor, close = _dask_executor(workers=1, scheduler=None)
    try:
        assert executor.submit(sum, [1, 2]).result(timeout=60) == 3
        opened = _listening(me) - before
        assert opened, "the cluster opened no socket?"
        assert {ip for ip, _ in opened} == {"127.0.0.1"}, opened
    finally:
        close()


def test_local_dask_cluster_speaks_tls_and_serves_no_http():
    # The scheduler once had no authentication (another local process ran code in the
    # workers) and served HTTP on 8787 though no dashboard was asked for.
    import socket
    import ssl

    pytest.importorskip("distributed")
    pytest.importorskip("cryptography")
    psutil = pytest.importorskip("psutil")
    from sim.run.executors import _dask_executor

    me = psutil.Process()
    before = _listening(me)
    executor, close = _dask_executor(workers=1, scheduler=None)
    try:
        assert executor.submit(sum, [1, 2]).result(timeout=60) == 3
        assert executor._client.scheduler.address.startswith("tls://")
        for ip, port in _listening(me) - before:
            with socket.create_connection((ip, port), timeout=5) as connection:
                connection.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                connection.settimeout(5)
                try:
                    answer = connection.recv(64)
                except (OSError, ssl.SSLError):
                    answer = b""
            assert not answer.startswith(b"HTTP/"), (port, answer)
    finally:
        close()


def test_a_given_scheduler_address_is_used_as_is(monkeypatch):
    # With --scheduler the run joins that cluster and starts no local one.
    distributed = pytest.importorskip("distributed")
    from sim.run import executors as experiment

    seen = {}

    class FakeClient:
        def __init__(self, address, **options):
            seen["address"] = address

        def get_executor(self):
            return "executor"

        def close(self):
            seen["closed"] = True

    def no_local_cluster(*args, **kwargs):
        raise AssertionError("a local cluster was started")

    monkeypatch.setattr(distributed, "Client", FakeClient)
    monkeypatch.setattr(distributed, "LocalCluster", no_local_cluster)
    executor, close = experiment._dask_executor(workers=None, scheduler="tcp://10.0.0.5:8786")
    close()
    assert executor == "executor"
    assert seen == {"address": "tcp://10.0.0.5:8786", "closed": True}
