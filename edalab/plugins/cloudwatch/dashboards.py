"""Mixin of the CloudWatch provider: dashboards as AWS documents them.

What LocalStack's provider_v2 gets wrong, and what this mixin does instead:
- PutDashboard stores any body; AWS validates it (`dashboard_body.body_problems`) and answers
  `InvalidParameterInput` with `DashboardValidationMessages`;
- GetDashboard of a missing dashboard answers `InvalidParameterValue`; AWS answers
  `ResourceNotFound` (404), which is what a console or a script tests for;
- DeleteDashboards ignores names that do not exist; AWS refuses the call (`ResourceNotFound`)
  and deletes none of them;
- ListDashboards reports every dashboard's `Size` as 225; AWS gives the body's size in bytes.
"""

from __future__ import annotations

import json

from localstack.aws.api import RequestContext
from localstack.aws.api.cloudwatch import (
    DashboardBody,
    DashboardInvalidInputError,
    DashboardName,
    DashboardNamePrefix,
    DashboardNames,
    DashboardNotFoundError,
    DeleteDashboardsOutput,
    GetDashboardOutput,
    ListDashboardsOutput,
    NextToken,
    PutDashboardOutput,
)

from edalab.plugins.cloudwatch.dashboard_body import body_problems


class Dashboards:
    """Dashboard operations answered before LocalStack's CloudWatch provider does."""

    def put_dashboard(self, context: RequestContext, dashboard_name: DashboardName,
                      dashboard_body: DashboardBody, **kwargs) -> PutDashboardOutput:
        problems = body_problems(dashboard_body)
        if problems:
            error = DashboardInvalidInputError(
                f"The dashboard body is invalid, there are {len(problems)} validation errors: "
                + json.dumps([{"dataPath": p["DataPath"], "message": p["Message"]} for p in problems]))
            error.dashboardValidationMessages = problems
            raise error
        return super().put_dashboard(context, dashboard_name, dashboard_body, **kwargs)

    def get_dashboard(self, context: RequestContext, dashboard_name: DashboardName, **kwargs) -> GetDashboardOutput:
        if dashboard_name not in self.get_store(context.account_id, context.region).dashboards:
            raise DashboardNotFoundError(f"Dashboard {dashboard_name} does not exist")
        return super().get_dashboard(context, dashboard_name, **kwargs)

    def delete_dashboards(self, context: RequestContext, dashboard_names: DashboardNames,
                          **kwargs) -> DeleteDashboardsOutput:
        stored = self.get_store(context.account_id, context.region).dashboards
        missing = [name for name in dashboard_names if name not in stored]
        if missing:
            raise DashboardNotFoundError(f"The specified dashboard does not exist. [{', '.join(missing)}]")
        return super().delete_dashboards(context, dashboard_names, **kwargs)

    def list_dashboards(self, context: RequestContext, dashboard_name_prefix: DashboardNamePrefix = None,
                        next_token: NextToken = None, **kwargs) -> ListDashboardsOutput:
        answer = super().list_dashboards(context, dashboard_name_prefix, next_token, **kwargs)
        stored = self.get_store(context.account_id, context.region).dashboards
        for entry in answer.get("DashboardEntries", []):
            entry["Size"] = len(stored[entry["DashboardName"]].dashboard_body.encode())
        return answer
