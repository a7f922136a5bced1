"""Labs page (issue #14; being written)."""

NAV = ("Labs", "/labs")
routes: list = []
