"""Mail page (issue #14; being written)."""

NAV = ("Mail", "/mail")
routes: list = []
