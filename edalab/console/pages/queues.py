"""Queues page (issue #14; being written)."""

NAV = ("Queues", "/queues")
routes: list = []
