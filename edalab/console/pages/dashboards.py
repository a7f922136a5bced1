"""Dashboards page (issue #14; being written)."""

NAV = ("Dashboards", "/dashboards")
routes: list = []
