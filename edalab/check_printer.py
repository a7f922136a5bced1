"""Shows a running check in the terminal, from the runner's events, as it happens.

Why this exists: `make check` used to print nothing until it ended (minutes for lab 04). Now
each step shows its title when it starts and its verdict with the time it took when it ends;
a wait shows a live line (what is awaited, for how long, the deadline) that a terminal redraws
in place and a log (CI, a pipe) gets every few seconds; a failure shows its reason, the error
the lab's functions logged (type, message, the learner's file and line) and the hint that fits.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[dim]-[/]"}
LOG_WAIT_EVERY_SECONDS = 10.0  # without a terminal, a wait is reported this often


class CheckPrinter:
    """A listener for `edalab.check_run.run_check`: call it with each event."""

    def __init__(self, console: Console, hints_available: int):
        self.console = console
        self.hints_available = hints_available
        self.live = console.is_terminal
        self._status = None
        self._last_logged_wait = 0.0
        self._lab = ""
        self._titles: dict[int, str] = {}
        self._passed = 0

    def __call__(self, event: dict) -> None:
        handler = getattr(self, "_on_" + event["event"], None)
        if handler:
            handler(event)

    def close(self) -> None:
        """Stops the live line (and gives the cursor back) if a step was cut short."""
        if self._status is not None:
            self._status.stop()
            self._status = None

    # -- events ------------------------------------------------------------------------------
    def _on_check_started(self, e: dict) -> None:
        self._lab = e["lab"]
        self._titles = {s["number"]: s["title"] for s in e["steps"]}
        self.console.print(f"[bold]Lab {e['lab']} · {escape(e['title'])}[/] ({len(e['steps'])} steps)")

    def _on_step_started(self, e: dict) -> None:
        self._last_logged_wait = time.monotonic()
        line = f"  {e['number']}. {escape(e['title'])}"
        if self.live:
            self._status = self.console.status(line + " …")
            self._status.start()
        else:
            self.console.print(line + " …")

    def _on_waiting(self, e: dict) -> None:
        text = f"waiting for {escape(e['what'])}: {e['elapsed']:.0f} s so far, gives up at {e['timeout']:.0f} s"
        if self._status is not None:
            self._status.update(f"  {e['number']}. {escape(self._titles.get(e['number'], ''))}\n     {text}")
        elif time.monotonic() - self._last_logged_wait >= LOG_WAIT_EVERY_SECONDS:
            self._last_logged_wait = time.monotonic()
            self.console.print(f"     [dim]{text}[/]")

    def _on_step_finished(self, e: dict) -> None:
        self.close()
        self._passed += e["status"] == "passed"
        took = f" [dim]({e['seconds']:.1f} s)[/]" if e["status"] != "skipped" else ""
        self.console.print(f"  {MARKS[e['status']]} {e['number']}. {escape(e['title'])}{took}")
        if e["status"] == "skipped":
            self.console.print(f"       [dim]skipped: {escape(e['message'])}[/]")
        elif e["status"] == "failed":
            for line in e["message"].splitlines():
                self.console.print(f"       [red]{escape(line)}[/]")
            for cause in e["cause"]:
                first, *rest = cause.splitlines()
                self.console.print(f"       [yellow]the function {escape(first)}[/]")
                for line in rest:
                    self.console.print(f"       [yellow]{escape(line)}[/]")
                function = first.split(" ", 1)[0]
                self.console.print(f"       its log: awslocal logs filter-log-events --log-group-name "
                                   f"/aws/lambda/{function} --query 'events[].message' --output text", markup=False)
            if e["hint"] and self.hints_available:
                self.console.print(f"       hint for this: `make hint LAB={self._lab} N={e['hint']}`")

    def _on_cleaned_up(self, e: dict) -> None:
        if e["problem"]:
            self.console.print(f"  [yellow]cleanup: {escape(e['problem'])}[/]")

    def _on_check_finished(self, e: dict) -> None:
        if e["passed"]:
            self.console.print(f"[green]Lab {e['lab']} complete[/] ({e['seconds']:.1f} s).")
            return
        self.console.print(f"{self._passed} of {len(self._titles)} steps done ({e['seconds']:.1f} s). Fix the first "
                           f"✗ step, `make deploy LAB={e['lab']}` if you changed a handler or an exercise file, "
                           f"then `make check LAB={e['lab']}` again.")
