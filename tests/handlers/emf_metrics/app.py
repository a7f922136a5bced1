"""A test function that publishes its metrics with Powertools `Metrics`, as the labs' handlers will.

Powertools prints them as one Embedded Metric Format line at the end of the invocation; on AWS,
CloudWatch Logs turns that line into metrics. Namespace and service come from
POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME; the event says what to record:
{"route": "/checkout", "orders": 2, "latency_ms": 80, "timestamp_ms": <optional>}.
"""

import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit

metrics = Metrics()


@metrics.log_metrics
def handler(event, context):
    metrics.add_dimension(name="route", value=event["route"])
    # Powertools keeps a timestamp once set, so each invocation sets its own (now, or the event's)
    metrics.set_timestamp(event.get("timestamp_ms") or int(time.time() * 1000))
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=event["orders"])
    metrics.add_metric(name="CheckoutLatency", unit=MetricUnit.Milliseconds, value=event["latency_ms"],
                       resolution=MetricResolution.High)
    return {"recorded": True}
