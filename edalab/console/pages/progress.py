"""Progress page (issue #14; being written)."""

NAV = ("Progress", "/progress")
routes: list = []
