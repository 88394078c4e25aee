"""The documented columns of the six measures and of the summary, comparison and agency
tables."""

from __future__ import annotations

from sim.analysis.agencies import AGENCY_COLUMNS
from sim.analysis.cases import MEASURES
from sim.analysis.comparison import COMPARISON_COLUMNS
from sim.analysis.summary import SUMMARY_COLUMNS
from sim.engines.records import CASE_COLUMNS


def test_column_tuples_are_the_documented_schema():
    assert MEASURES == (
        "steps",
        "materials",
        "certificates",
        "trips",
        "elapsed_working_days",
        "fees_cny",
    )
    assert set(MEASURES) <= set(CASE_COLUMNS)
    assert SUMMARY_COLUMNS == (
        "variant",
        "procedure",
        "target_days",
        "target_unit",
        "replications",
        "interval_basis",
        "arrived",
        "completed",
        "withdrawn",
        "open",
        "mean_days",
        "mean_days_low",
        "mean_days_high",
        "median_days",
        "median_days_low",
        "median_days_high",
        "p90_days",
        "p90_days_low",
        "p90_days_high",
        "share_within_target",
        "share_within_target_low",
        "share_within_target_high",
        "mean_calendar_days",
        "mean_clock_days",
        "mean_clock_days_low",
        "mean_clock_days_high",
        "share_within_target_clock",
        "share_within_target_clock_low",
        "share_within_target_clock_high",
        "steps",
        "materials",
        "certificates",
        "trips",
        "fees_cny",
    )
    assert COMPARISON_COLUMNS == (
        "variant",
        "procedure",
        "metric",
        "baseline_value",
        "variant_value",
        "difference",
        "difference_low",
        "difference_high",
        "unpaired_low",
        "unpaired_high",
        "replications",
        "distinguishable",
        "replications_needed",
        "note",
    )
    assert AGENCY_COLUMNS[:3] == ("variant", "agency", "staff")
    for column in ("utilisation", "mean_queue_days", "p90_queue_days", "queue_growth"):
        assert column in AGENCY_COLUMNS
    assert AGENCY_COLUMNS[-2:] == ("overloaded", "warning")
