"""The registry of reform types: every type is documented.
"""

from __future__ import annotations

from sim.reforms import REGISTRY
from tests.factories import PROJECT_ROOT


def test_registry_has_every_documented_type():
    documented = PROJECT_ROOT / "docs" / "reforms.md"
    text = documented.read_text(encoding="utf-8")
    assert all(f"`{name}`" in text for name in REGISTRY)
