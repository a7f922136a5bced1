"""Embedded Metric Format documents read as AWS's "Specification: Embedded metric format" defines them
(edalab.plugins.logs.emf; no engine needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from edalab.plugins.logs.emf import EmfDatum, NotEmf, emf_data, parse_emf

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def aws_example(**changes) -> dict:
    """The specification's example document (two dimension sets, one high-resolution metric)."""
    document = {
        "_aws": {
            "Timestamp": NOW_MS,
            "CloudWatchMetrics": [{
                "Namespace": "MyApp",
                "Dimensions": [["Operation"], ["Operation", "Cell"]],
                "Metrics": [{"Name": "ProcessingLatency", "Unit": "Milliseconds", "StorageResolution": 60}],
            }],
        },
        "Operation": "Aggregator",
        "Cell": "001",
        "ProcessingLatency": 100,
    }
    document.update(changes)
    return document


def directive(document: dict) -> dict:
    return document["_aws"]["CloudWatchMetrics"][0]


def test_every_dimension_set_gives_each_metric_a_series_with_unit_and_timestamp():
    data = emf_data(json.dumps(aws_example()), now=NOW)
    assert data == [
        EmfDatum("MyApp", "ProcessingLatency", "Milliseconds", 60, (("Operation", "Aggregator"),), (100.0,), NOW),
        EmfDatum("MyApp", "ProcessingLatency", "Milliseconds", 60,
                 (("Operation", "Aggregator"), ("Cell", "001")), (100.0,), NOW),
    ]


def test_an_array_of_values_is_one_sample_each_and_high_resolution_is_kept():
    document = aws_example(ProcessingLatency=[100, 200.5, 3])
    directive(document)["Metrics"][0]["StorageResolution"] = 1
    [first, _] = emf_data(json.dumps(document), now=NOW)
    assert first.values == (100.0, 200.5, 3.0) and first.storage_resolution == 1


def test_a_missing_unit_is_none_and_an_empty_dimension_set_has_no_dimensions():
    document = aws_example()
    directive(document)["Dimensions"] = [[]]
    directive(document)["Metrics"] = [{"Name": "ProcessingLatency"}]
    [datum] = emf_data(json.dumps(document), now=NOW)
    assert (datum.unit, datum.dimensions) == ("None", ())


def test_powertools_output_with_several_metrics_and_the_lambda_prefix_before_the_document():
    powertools_line = json.dumps({
        "_aws": {"Timestamp": NOW_MS, "CloudWatchMetrics": [{
            "Namespace": "Shop", "Dimensions": [["service", "route"]],
            "Metrics": [{"Name": "OrdersPlaced", "Unit": "Count"}, {"Name": "CheckoutLatency", "Unit": "Milliseconds"}],
        }]},
        "service": "orders", "route": "/checkout", "OrdersPlaced": [2.0, 3.0], "CheckoutLatency": 80,
    })
    prefixed = f"2026-11-24T12:00:00.000Z\t5b2e3f1c-request-id\tINFO\t{powertools_line}\n"
    data = emf_data(prefixed, now=NOW)
    assert [(d.name, d.unit, d.values) for d in data] == [
        ("OrdersPlaced", "Count", (2.0, 3.0)), ("CheckoutLatency", "Milliseconds", (80.0,)),
    ]
    assert all(d.dimensions == (("service", "orders"), ("route", "/checkout")) for d in data)


@pytest.mark.parametrize("message", [
    "plain text, no metrics",
    '{"level": "INFO", "message": "not EMF"}',
    '{"_aws": {"Timestamp": 1}',  # cut short: not JSON
])
def test_lines_that_are_not_emf_give_no_metrics(message):
    assert emf_data(message, now=NOW) == []


def _broken(change) -> dict:
    document = aws_example()
    change(document)
    return document


@pytest.mark.parametrize("document", [
    _broken(lambda d: d["_aws"].pop("Timestamp")),
    _broken(lambda d: d["_aws"].update(Timestamp="2026-11-24T12:00:00Z")),
    _broken(lambda d: d["_aws"].pop("CloudWatchMetrics")),
    _broken(lambda d: directive(d).pop("Namespace")),
    _broken(lambda d: directive(d).update(Namespace="AWS/Lambda")),
    _broken(lambda d: directive(d).update(Dimensions=["Operation"])),  # not an array of arrays
    _broken(lambda d: directive(d).update(Dimensions=[[f"d{n}" for n in range(31)]])),
    _broken(lambda d: d.pop("Cell")),  # a dimension naming no member
    _broken(lambda d: d.update(Cell=1)),  # dimension values are strings
    _broken(lambda d: directive(d)["Metrics"][0].update(Unit="Parsecs")),
    _broken(lambda d: directive(d)["Metrics"][0].update(StorageResolution=5)),
    _broken(lambda d: directive(d)["Metrics"][0].pop("Name")),
    _broken(lambda d: directive(d).update(Metrics=[{"Name": f"m{n}"} for n in range(101)])),
])
def test_a_document_that_breaks_the_specification_is_refused_whole(document):
    with pytest.raises(NotEmf):
        parse_emf(json.dumps(document))
    assert emf_data(json.dumps(document), now=NOW) == []


def test_a_metric_without_a_numeric_member_is_skipped_and_the_others_kept():
    document = aws_example(Other="fast", Missing=None)
    directive(document)["Metrics"] += [{"Name": "Other"}, {"Name": "Absent"}]
    assert {d.name for d in emf_data(json.dumps(document), now=NOW)} == {"ProcessingLatency"}


@pytest.mark.parametrize("offset, kept", [
    (timedelta(days=-13), True), (timedelta(days=-15), False),
    (timedelta(hours=1), True), (timedelta(hours=3), False),
])
def test_timestamps_cloudwatch_would_refuse_give_no_metrics(offset, kept):
    document = aws_example()
    document["_aws"]["Timestamp"] = int((NOW + offset).timestamp() * 1000)
    assert bool(emf_data(json.dumps(document), now=NOW)) is kept
