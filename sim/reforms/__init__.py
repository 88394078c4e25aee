"""Reforms as rules: the catalogue of reform types and how a scenario's variants apply them."""

from sim.reforms.registry import REGISTRY, named_procedures, touches
from sim.reforms.resolve import load_scenario, resolve, resolve_variant

__all__ = ["REGISTRY", "load_scenario", "named_procedures", "resolve", "resolve_variant", "touches"]
