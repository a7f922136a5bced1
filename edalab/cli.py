"""`python -m edalab <command>`: the commands behind `make up`, `down`, `status` and `logs`.

Why this exists: the Makefile is the front door, but its recipes stay one line each; the
logic (choosing the engine, waiting, reporting) lives here where it can be tested.
Every command says what it did and exits non-zero with a reason when it could not.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.table import Table

from edalab import bootstrap, engine, inventory, settings
from edalab.engine.health import EngineNotHealthy, health
from edalab.safety import UnsafeEndpointError, require_local_endpoint

console = Console(highlight=False)


def _engine():
    """The engine to act on: a host engine we started wins, else the chosen mode."""
    host = engine.HostEngine.default()
    if host.pid() is not None:
        return "host", host
    mode = engine.chosen_mode()
    return mode, engine.current(mode)


def cmd_up(_args) -> int:
    started = time.monotonic()
    mode, eng = _engine()
    if eng.is_up():
        console.print(f"[green]Already up[/] ({mode} engine on {eng.endpoint}); checking the bootstrap.")
    else:
        if eng.crashed():
            console.print(
                "[yellow]The last engine ended without `make down` (killed or crashed).[/] "
                "Its state was in memory and is gone; starting fresh and re-deploying every lab."
            )
            eng.stop()  # removes what it left behind
        console.print(f"Starting the {mode} engine on {eng.endpoint} ...")
        seconds = eng.start()
        console.print(f"  engine healthy after {seconds:.1f} s")
    _bootstrap(eng.endpoint)
    console.print(f"[green]Up[/] in {time.monotonic() - started:.1f} s: {mode} engine at {eng.endpoint}")
    console.print("  next: `make status`, `make test`, or open labs/00-welcome/README.md")
    return 0


def _bootstrap(endpoint: str) -> None:
    stacks = bootstrap.lab_stacks()
    console.print(f"Deploying {len(stacks)} lab stack(s) ...")
    began = time.monotonic()

    def report(name: str, outcome: str) -> None:
        console.print(f"  {name}: {outcome} ({time.monotonic() - began:.1f} s)")

    bootstrap.deploy_all(endpoint, stacks, progress=report)


def cmd_down(_args) -> int:
    mode, eng = _engine()
    started = time.monotonic()
    done = eng.stop()
    what = "; ".join(done) if done else "nothing was running"
    console.print(f"Down ({mode}): {what} in {time.monotonic() - started:.1f} s")
    return 0


def cmd_status(_args) -> int:
    mode, eng = _engine()
    doc = health(eng.endpoint)
    if doc is None:
        state = "[red]not running[/]"
        if eng.crashed():
            state += " (the last engine ended without `make down`: killed or crashed; `make up` starts it again)"
        console.print(f"Engine: {mode}, {state}. Endpoint would be {eng.endpoint}.")
        return 1
    console.print(f"Engine: {mode}, [green]healthy[/], LocalStack {doc.get('version', '?')} at {eng.endpoint}")
    counts = inventory.resource_counts(eng.endpoint)
    console.print("Resources: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    table = Table("queue", "visible", "in flight", "dead-letter queue")
    for q in inventory.queue_depths(eng.endpoint):
        style = "red" if q.is_dead_letter_queue and q.visible else None
        table.add_row(q.name, str(q.visible), str(q.in_flight), "yes" if q.is_dead_letter_queue else "", style=style)
    console.print(table)
    return 0


def cmd_logs(args) -> int:
    mode, eng = _engine()
    if mode == "container":
        sys.stdout.write(eng.logs())
        return 0
    if not eng.log_file.exists():
        console.print("No engine log yet: `make up` starts the engine.")
        return 1
    lines = eng.log_file.read_text(errors="replace").splitlines()
    sys.stdout.write("\n".join(lines[-args.lines :]) + "\n")
    return 0


def cmd_bootstrap(_args) -> int:
    _bootstrap(require_local_endpoint(settings.endpoint()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="edalab", description="EDA Lab environment commands")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the engine (if needed) and deploy every lab").set_defaults(fn=cmd_up)
    sub.add_parser("down", help="stop the engine and every function process").set_defaults(fn=cmd_down)
    sub.add_parser("status", help="mode, health, resources and queue depths").set_defaults(fn=cmd_status)
    logs = sub.add_parser("logs", help="the engine's log")
    logs.add_argument("--lines", type=int, default=200)
    logs.set_defaults(fn=cmd_logs)
    sub.add_parser("bootstrap", help="deploy every lab stack to the running engine").set_defaults(fn=cmd_bootstrap)
    args = parser.parse_args(argv)
    try:
        require_local_endpoint(settings.endpoint())
        return args.fn(args)
    except UnsafeEndpointError as error:
        console.print(f"[red]{error}[/]")
        return 3
    except (EngineNotHealthy, bootstrap.DeployError, engine.UnknownEngineMode) as error:
        console.print(f"[red]{error}[/]")
        console.print("  see `make logs` for the engine's side")
        return 1


if __name__ == "__main__":
    sys.exit(main())
