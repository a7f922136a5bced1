"""Every Lambda function with its configuration and how busy it was in the last 5 minutes.

Why this exists: the Functions pages show, for each function, what it runs (runtime,
handler, memory, timeout, when it last changed) and whether it has been invoked and failed
lately. The configuration is Lambda's `ListFunctions` / `GetFunction`; the counts are
CloudWatch's `AWS/Lambda` metrics (`Invocations`, `Errors`, exact `FunctionName` dimension),
all functions in one `GetMetricData` call.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

WINDOW = timedelta(minutes=5)


class UnknownFunction(LookupError):
    """No function by that name."""


def modified_at(configuration: dict) -> datetime | None:
    """`LastModified` (`2026-11-24T01:54:18.072943+0000`) as a datetime."""
    text = configuration.get("LastModified") or ""
    for shape in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, shape)
        except ValueError:
            continue
    return None


def list_functions(lam) -> list[dict]:
    """Every function's configuration, by name, each with `modified_at` (a datetime)."""
    functions = []
    for page in lam.get_paginator("list_functions").paginate():
        functions += [{**f, "modified_at": modified_at(f)} for f in page["Functions"]]
    return sorted(functions, key=lambda f: f["FunctionName"])


def recent_counts(cloudwatch, names: list[str]) -> dict[str, dict[str, int]]:
    """Function name -> {"invocations": n, "errors": n} over the last 5 minutes."""
    if not names:
        return {}
    queries, ids = [], {}
    for index, name in enumerate(names):
        for metric in ("Invocations", "Errors"):
            query_id = f"{metric[0].lower()}{index}"
            ids[query_id] = (name, metric.lower())
            queries.append({"Id": query_id, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric,
                           "Dimensions": [{"Name": "FunctionName", "Value": name}]},
                "Period": 60, "Stat": "Sum"}})
    counts = {name: {"invocations": 0, "errors": 0} for name in names}
    end = datetime.now(timezone.utc)
    for start in range(0, len(queries), 500):  # GetMetricData takes at most 500 queries
        kwargs = {"MetricDataQueries": queries[start:start + 500], "StartTime": end - WINDOW, "EndTime": end}
        while True:
            answer = cloudwatch.get_metric_data(**kwargs)
            for result in answer["MetricDataResults"]:
                name, metric = ids[result["Id"]]
                counts[name][metric] += int(sum(result.get("Values", [])))
            if not answer.get("NextToken"):
                break
            kwargs["NextToken"] = answer["NextToken"]
    return counts


def function_detail(lam, name: str) -> dict:
    """The function's configuration, with its asynchronous destinations when it has any."""
    try:
        configuration = lam.get_function(FunctionName=name)["Configuration"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise UnknownFunction(name) from error
        raise
    try:
        invoke_config = lam.get_function_event_invoke_config(FunctionName=name)
    except ClientError:
        invoke_config = {}  # none set: AWS answers ResourceNotFoundException
    destinations = invoke_config.get("DestinationConfig") or {}
    return {
        "configuration": configuration,
        "modified_at": modified_at(configuration),
        "environment": (configuration.get("Environment") or {}).get("Variables") or {},
        "layers": [layer["Arn"] for layer in configuration.get("Layers", [])],
        "dead_letter": (configuration.get("DeadLetterConfig") or {}).get("TargetArn"),
        "on_success": (destinations.get("OnSuccess") or {}).get("Destination"),
        "on_failure": (destinations.get("OnFailure") or {}).get("Destination"),
        "retries": invoke_config.get("MaximumRetryAttempts"),
        "max_event_age": invoke_config.get("MaximumEventAgeInSeconds"),
    }
