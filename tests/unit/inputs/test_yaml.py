"""The one YAML reader: empty, non-UTF-8, non-mapping files and folders are input errors."""

import pytest

from sim import load_scenario
from sim.domain.errors import InputError


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", "empty"), (b"\xff\xfe\x00bad", "UTF-8"), (b"- just\n- a list\n", "mapping")],
)
def test_unreadable_files(tmp_path, content, words):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        load_scenario(path)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(InputError, match="folder"):
        load_scenario(tmp_path)
