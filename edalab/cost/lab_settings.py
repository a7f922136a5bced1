"""Putting an experiment's settings on lab 08's stack, through the AWS APIs, and back.

Why this exists: an experiment changes what a learner could change on AWS (the mapping's batch
size and window with UpdateEventSourceMapping, the function's memory with
UpdateFunctionConfiguration, or the mapping disabled for our own short-polling consumer) and
must not start measuring before the change took effect: each step waits until the engine reports
it (the mapping's state and values, the function's LastUpdateStatus). After a run the lab's
baseline goes back the same way.
"""

from __future__ import annotations

from edalab import aws
from edalab.waiting import wait_for


class LabStack:
    """The lab's function and mapping on one engine."""

    def __init__(self, endpoint: str, function: str, mapping_id: str):
        self.lambda_ = aws.client("lambda", endpoint)
        self.function, self.mapping_id = function, mapping_id

    def current(self) -> dict:
        mapping = self.lambda_.get_event_source_mapping(UUID=self.mapping_id)
        memory = self.lambda_.get_function_configuration(FunctionName=self.function)["MemorySize"]
        return {"batch_size": mapping["BatchSize"],
                "batching_window_s": mapping.get("MaximumBatchingWindowInSeconds", 0),
                "memory_mb": memory, "enabled": mapping["State"] == "Enabled"}

    def apply(self, wanted: dict) -> None:
        """`wanted`: batch_size, batching_window_s, memory_mb, polling (short: mapping disabled)."""
        enabled = wanted["polling"] == "long"
        now = self.current()
        if now["memory_mb"] != wanted["memory_mb"]:
            self.lambda_.update_function_configuration(FunctionName=self.function, MemorySize=wanted["memory_mb"])
            wait_for(lambda: self.lambda_.get_function_configuration(FunctionName=self.function),
                     what=f"{self.function} to take MemorySize {wanted['memory_mb']}", timeout=60, interval=0.2,
                     until=lambda c: c["MemorySize"] == wanted["memory_mb"] and c.get("LastUpdateStatus") != "InProgress")
        target = (wanted["batch_size"], wanted["batching_window_s"], enabled)
        if (now["batch_size"], now["batching_window_s"], now["enabled"]) != target:
            self.lambda_.update_event_source_mapping(
                UUID=self.mapping_id, BatchSize=wanted["batch_size"],
                MaximumBatchingWindowInSeconds=int(wanted["batching_window_s"]), Enabled=enabled)
            state = "Enabled" if enabled else "Disabled"

            def took_effect(mapping: dict) -> bool:
                return (mapping["State"] == state and mapping["BatchSize"] == wanted["batch_size"]
                        and mapping.get("MaximumBatchingWindowInSeconds", 0) == wanted["batching_window_s"])

            wait_for(lambda: self.lambda_.get_event_source_mapping(UUID=self.mapping_id),
                     what=f"the mapping to be {state} with batch size {wanted['batch_size']} and window "
                          f"{wanted['batching_window_s']} s", timeout=60, interval=0.2, until=took_effect)
