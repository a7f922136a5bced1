"""CloudWatch: exact dimension matching, metric math, alarm evaluation on AWS's cadence,
composite alarms, alarm state-change events and dashboards, as AWS documents them."""
