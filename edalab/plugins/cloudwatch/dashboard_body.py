"""A dashboard body checked as PutDashboard checks it.

Why this exists: LocalStack stores any string as a dashboard body. AWS refuses a body that is not
a JSON object with a `widgets` array of widgets (each a `type` among metric, text, log, alarm,
explorer, with its `properties`, and a position and size on the 24-column grid) with the error
`InvalidParameterInput` ("DashboardInvalidInputError"), whose DashboardValidationMessages give the
path and the reason ("Dashboard body structure" in the CloudWatch API reference).
"""

from __future__ import annotations

import json

WIDGET_TYPES = ("metric", "text", "log", "alarm", "explorer", "custom")
GRID_LIMITS = {"x": (0, 23), "y": (0, None), "width": (1, 24), "height": (1, 1000)}


def body_problems(body: str) -> list[dict]:
    """DashboardValidationMessages ({DataPath, Message}) for `body`; empty when it is valid."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError) as error:
        return [{"DataPath": "", "Message": f"Invalid JSON in the dashboard body: {error}"}]
    if not isinstance(document, dict):
        return [{"DataPath": "", "Message": "Should be object"}]
    if "widgets" not in document:
        return [{"DataPath": "", "Message": "Should have required property 'widgets'"}]
    widgets = document["widgets"]
    if not isinstance(widgets, list):
        return [{"DataPath": "/widgets", "Message": "Should be array"}]
    problems = []
    for index, widget in enumerate(widgets):
        path = f"/widgets/{index}"
        if not isinstance(widget, dict):
            problems.append({"DataPath": path, "Message": "Should be object"})
            continue
        if "type" not in widget:
            problems.append({"DataPath": path, "Message": "Should have required property 'type'"})
        elif widget["type"] not in WIDGET_TYPES:
            problems.append({"DataPath": f"{path}/type",
                             "Message": f"Should be equal to one of the allowed values: {', '.join(WIDGET_TYPES)}"})
        if "properties" not in widget:
            problems.append({"DataPath": path, "Message": "Should have required property 'properties'"})
        elif not isinstance(widget["properties"], dict):
            problems.append({"DataPath": f"{path}/properties", "Message": "Should be object"})
        elif widget.get("type") == "metric" and not (widget["properties"].get("metrics")
                                                     or widget["properties"].get("annotations")):
            problems.append({"DataPath": f"{path}/properties",
                             "Message": "Should have required property 'metrics'"})
        elif widget.get("type") == "text" and "markdown" not in widget["properties"]:
            problems.append({"DataPath": f"{path}/properties",
                             "Message": "Should have required property 'markdown'"})
        for key, (low, high) in GRID_LIMITS.items():
            if key not in widget:
                continue
            value = widget[key]
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append({"DataPath": f"{path}/{key}", "Message": "Should be integer"})
            elif value < low:
                problems.append({"DataPath": f"{path}/{key}", "Message": f"Should be >= {low}"})
            elif high is not None and value > high:
                problems.append({"DataPath": f"{path}/{key}", "Message": f"Should be <= {high}"})
    return problems
