"""Cost: lab 08's experiments side by side, priced from what the engine measured.

Why this exists: the report of `make report LAB=08` (a table per experiment and cost per million
events against p95 latency, the Pareto frontier marked) belongs where the learner already watches
the system work.
"""

from __future__ import annotations

NAV = ("Cost", "/cost")
routes = []
