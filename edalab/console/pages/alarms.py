"""Alarms page (issue #14; being written)."""

NAV = ("Alarms", "/alarms")
routes: list = []
