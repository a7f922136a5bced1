"""Functions page (issue #14; being written)."""

NAV = ("Functions", "/functions")
routes: list = []
