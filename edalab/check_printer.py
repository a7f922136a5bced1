"""Shows a running check in the terminal, from the runner's events, as it happens.

Why this exists: `make check` used to print nothing until it ended (minutes for lab 04). Now
each step shows its title when it starts and its verdict with the time it took when it ends;
a wait shows a live line (what is awaited, for how long, the deadline) that a terminal redraws
in place and a log (CI, a pipe) gets every few seconds; a failure shows its reason, the error
the lab's functions logged (type, message, the learner's file and line) and the hint that fits.

The words themselves (`waiting_line`, `cause_lines`, `hint_line`, `finished_line`, ...) are plain
functions of an event, so the console's lab page shows a check in the same words.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[dim]-[/]"}
LOG_WAIT_EVERY_SECONDS = 10.0  # without a terminal, a wait is reported this often


# -- the words, as plain text (the printer adds colour; the console adds HTML) -------------------
def took_text(e: dict) -> str:
    """How long a finished step took: `(1.2 s)`; empty for a skipped step."""
    return f"({e['seconds']:.1f} s)" if e["status"] != "skipped" else ""


def waiting_line(e: dict) -> str:
    return f"waiting for {e['what']}: {e['elapsed']:.0f} s so far, gives up at {e['timeout']:.0f} s"


def skipped_line(e: dict) -> str:
    return f"skipped: {e['message']}"


def cause_lines(cause: str) -> tuple[str, list[str], str]:
    """An error a lab's function logged: its first line, the lines after it (where in the
    learner's file), and the command that shows that function's log."""
    first, *rest = cause.splitlines()
    function = first.split(" ", 1)[0]
    log = (f"its log: awslocal logs filter-log-events --log-group-name /aws/lambda/{function} "
           f"--query 'events[].message' --output text")
    return f"the function {first}", rest, log


def hint_line(lab: str, hint: int) -> str:
    return f"hint for this: `make hint LAB={lab} N={hint}`"


def finished_line(e: dict, passed_steps: int, steps: int) -> str:
    if e["passed"]:
        return f"Lab {e['lab']} complete ({e['seconds']:.1f} s)."
    return (f"{passed_steps} of {steps} steps done ({e['seconds']:.1f} s). Fix the first ✗ step, "
            f"`make deploy LAB={e['lab']}` if you changed a handler or an exercise file, "
            f"then `make check LAB={e['lab']}` again.")


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
        text = escape(waiting_line(e))
        if self._status is not None:
            self._status.update(f"  {e['number']}. {escape(self._titles.get(e['number'], ''))}\n     {text}")
        elif time.monotonic() - self._last_logged_wait >= LOG_WAIT_EVERY_SECONDS:
            self._last_logged_wait = time.monotonic()
            self.console.print(f"     [dim]{text}[/]")

    def _on_step_finished(self, e: dict) -> None:
        self.close()
        self._passed += e["status"] == "passed"
        took = f" [dim]{took_text(e)}[/]" if e["status"] != "skipped" else ""
        self.console.print(f"  {MARKS[e['status']]} {e['number']}. {escape(e['title'])}{took}")
        if e["status"] == "skipped":
            self.console.print(f"       [dim]{escape(skipped_line(e))}[/]")
        elif e["status"] == "failed":
            for line in e["message"].splitlines():
                self.console.print(f"       [red]{escape(line)}[/]")
            for cause in e["cause"]:
                first, rest, log = cause_lines(cause)
                for line in [first, *rest]:
                    self.console.print(f"       [yellow]{escape(line)}[/]")
                self.console.print(f"       {log}", markup=False)
            if e["hint"] and self.hints_available:
                self.console.print(f"       {escape(hint_line(self._lab, e['hint']))}")

    def _on_cleaned_up(self, e: dict) -> None:
        if e["problem"]:
            self.console.print(f"  [yellow]cleanup: {escape(e['problem'])}[/]")

    def _on_check_finished(self, e: dict) -> None:
        line = escape(finished_line(e, self._passed, len(self._titles)))
        self.console.print(f"[green]{line}[/]" if e["passed"] else line)
