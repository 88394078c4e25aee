"""Fitted files are YAML the loader reads back as written, comments included."""

from __future__ import annotations

import json

from sim.inputs.yaml import read_yaml
from sim.output.calibrated import dump, write_yaml

DATA = {
    "id": "proc",
    "name": {"zh": '企业开办 "一网通办"', "en": "Company: setup #1"},
    "target": {"working_days": 2.5, "source": "fitted from r.csv, 10 cases"},
    "attributes": [
        {
            "id": "kind",
            "kind": "categorical",
            "shares": {"157": 0.5, "true": 0.25, "A B": 0.25},
            "source": "x",
        },
    ],
    "steps": [
        {
            "id": "a",
            "name": {"zh": "受理", "en": "intake"},
            "agency": "desk",
            "handling": {"type": "empirical", "values": [round(0.1 * i, 4) for i in range(200)]},
            "waiting": 0.0,
            "when": 'route in ["r1", "r2"]',
            "source": "s" * 300,
        }
    ],
}


def test_dump_reads_back_equal(tmp_path):
    comments = {("steps", 0, "handling"): "handling: lognormal by maximum likelihood " * 5}
    path = write_yaml(tmp_path / "proc.yaml", DATA, comments, header="Fitted.\nSecond line.")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Fitted.\n# Second line.\n")
    assert "    # handling: lognormal" in text
    assert json.loads(json.dumps(read_yaml(path))) == json.loads(json.dumps(DATA))


def test_flow_style_for_short_mappings():
    text = dump({"calendar": {"start": "2025-01-02", "country": "IT"}})
    assert text == 'calendar: {start: "2025-01-02", country: "IT"}\n'
