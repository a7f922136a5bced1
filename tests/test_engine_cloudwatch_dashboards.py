"""Dashboards answer as AWS documents (CloudWatch API reference: GetDashboard, DeleteDashboards,
ListDashboards): a missing dashboard is `ResourceNotFound` (404), DeleteDashboards with a
missing name deletes nothing, and ListDashboards gives each body's size in bytes.

On LocalStack's stock provider (EDALAB_STOCK_SERVICES=cloudwatch) GetDashboard answers
InvalidParameterValue, DeleteDashboards deletes the others, and every Size is 225.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

BODY = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3,
                                "properties": {"markdown": "# Orders\nWhat this dashboard shows."}}]})


def test_missing_dashboards_are_resource_not_found_and_sizes_are_bytes(engine, unique):
    cloudwatch = engine.client("cloudwatch")
    name = f"dash-{unique}"
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=BODY)
    try:
        with pytest.raises(ClientError) as missing:
            cloudwatch.get_dashboard(DashboardName=f"{name}-nope")
        assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

        with pytest.raises(ClientError) as partly_missing:
            cloudwatch.delete_dashboards(DashboardNames=[name, f"{name}-nope"])
        assert partly_missing.value.response["Error"]["Code"] == "ResourceNotFound"
        assert cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"] == BODY  # not deleted

        entries = cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
        assert [(e["DashboardName"], e["Size"]) for e in entries] == [(name, len(BODY.encode()))]
    finally:
        cloudwatch.delete_dashboards(DashboardNames=[name])
    assert cloudwatch.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"] == []
