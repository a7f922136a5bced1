"""`python -m edalab <command>`: the commands behind the Makefile's targets (up, down,
status, logs, mail, reset, bootstrap, usage, the learner loop: lab, check, hint, solution,
deploy, progress, and the labs' own tools: traffic, experiment, report, drill).

Why this exists: the Makefile is the front door, but its recipes stay one line each; the
logic (choosing the engine, waiting, reporting) lives here where it can be tested.
Every command says what it did and exits non-zero with a reason when it could not.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import sys
import time
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edalab import baseline, bootstrap, engine, inventory, lab_commands, labs, loop, mail, settings, sms
from edalab.console.process import ConsoleProcess, PortTaken
from edalab.engine.health import EngineNotHealthy, health
from edalab.exercise_validation import ExerciseRejected
from edalab.safety import UnsafeEndpointError, require_local_endpoint

console = Console(highlight=False, soft_wrap=True)
# What a killed engine takes with it: LocalStack keeps everything in memory (no persistence).
LOST_STATE = ("Its state was in memory and is lost: every resource, and every message and event "
              "that was queued or in flight.")


def _engine():
    """The engine to act on: a host engine we started wins, else the chosen mode."""
    host = engine.HostEngine.default()
    if host.pid() is not None:
        running = settings.running_port(host.state)
        if running is not None and running != host.port:  # EDALAB_PORT names another port
            raise EngineNotHealthy(f"the engine of {host.state} already runs on port {running}, not {host.port}: "
                                   f"unset EDALAB_PORT to use it, or `make down` first to move it")
        return "host", host
    mode = engine.chosen_mode()
    return mode, engine.current(mode)


def cmd_up(_args) -> int:
    started = time.monotonic()
    web = ConsoleProcess.default()  # a bad EDALAB_CONSOLE_PORT stops here, before anything starts
    mode, eng = _engine()
    fresh = not eng.is_up()
    if not fresh:
        console.print(f"[green]Already up[/] ({mode} engine on {eng.endpoint}); checking the bootstrap.")
    else:
        if eng.crashed():
            console.print(f"[yellow]The last engine ended without `make down` (killed or crashed).[/] {LOST_STATE}")
            for done in eng.stop():  # removes what it left behind
                console.print(f"  cleaned up: {done}")
            console.print("  starting fresh and re-deploying every lab.")
        console.print(f"Starting the {mode} engine on {eng.endpoint} ...")
        seconds = eng.start()
        console.print(f"  engine healthy after {seconds:.1f} s")
    web_line = _console_up(web, eng.endpoint, mode)  # started now, it shows the labs being deployed
    with _baseline_lock():
        if fresh:  # an engine with nothing in it: the saved baseline, else every lab through CloudFormation
            if not _restore_or_deploy(mode, eng):
                return 1
        else:  # it may hold what a learner made: deploy what changed, never save it as the baseline
            _bootstrap(eng.endpoint)
    console.print(f"[green]Up[/] in {time.monotonic() - started:.1f} s: {mode} engine at {eng.endpoint}")
    console.print("  next: `make status`, `make test`, or open labs/00-welcome/README.md")
    console.print(web_line)
    return 0


def _console_up(web: ConsoleProcess, endpoint: str, mode: str) -> str:
    """Starts the console in the background unless it runs; the line `make up` ends with."""
    if web.is_running():
        return f"Console: {web.running_url()} (already running; open it in a browser)"
    try:
        seconds = web.start(endpoint, mode)
    except PortTaken as error:
        return f"[yellow]Console not started:[/] {escape(str(error))}"
    except RuntimeError as error:
        return f"[yellow]Console not started:[/] {escape(str(error))} (see {web.log_file})"
    return f"Console: {web.url} (open it in a browser; started in {seconds:.1f} s, log {web.log_file})"


@contextlib.contextmanager
def _baseline_lock():
    """One `make up` / `make reset` at a time restores, deploys and saves the baseline (two at
    once would deploy onto a restore under way, or save each other's half-made state); the
    second waits, saying so. The lock is `<state folder>/baseline.lock`, released on exit."""
    state = settings.state_dir()
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "baseline.lock", "a") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print("[yellow]Another `make up` or `make reset` is restoring or deploying the labs:[/] "
                          "waiting for it to finish ...")
            fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _bootstrap(endpoint: str, found: list[labs.Lab] | None = None) -> None:
    found = labs.all_labs() if found is None else found
    console.print(f"Deploying {len(found)} lab stack(s) ...")
    began = time.monotonic()

    def report(name: str, outcome: str) -> None:  # an outcome may quote a learner's file: plain text
        console.print(f"  {name}: {outcome} ({time.monotonic() - began:.1f} s)", markup=False)

    labs.deploy_all(endpoint, progress=report, found=found)


def _restore_baseline(endpoint: str) -> tuple[baseline.Restored | None, baseline.BaselineUnavailable | None]:
    """The saved baseline restored into the engine (deploying only the labs whose files changed
    since it was saved), or None and why it could not be (which says whether the engine was
    touched). A changed lab whose deploy fails raises bootstrap.DeployError naming it."""
    found, began = labs.all_labs(), time.monotonic()

    def report(name: str, outcome: str) -> None:  # an outcome may quote a learner's file: plain text
        console.print(f"  {name}: {outcome} ({time.monotonic() - began:.1f} s)", markup=False)

    try:
        restored = baseline.restore(endpoint, found, progress=report)
    except baseline.BaselineUnavailable as unavailable:
        return None, unavailable
    if restored.not_saved:
        console.print(f"  [yellow]{escape(restored.not_saved)}[/] (the restore stands; the next one redeploys "
                      "the changed labs again)")
    _say_unsettled(restored.unsettled)
    return restored, None


def _say_unsettled(queues: list[str]) -> None:
    """A baseline saved with messages its functions had not consumed: each restore brings them back."""
    if queues:
        console.print(f"  [yellow]note: saved with messages still on {escape(', '.join(queues))}[/] (their functions "
                      f"had not consumed them in {baseline.SETTLE_SECONDS:.0f} s); each `make reset` brings them "
                      "back. If a function of yours keeps failing, fix it, then `make reset FULL=1`")


def _deploy_and_save(endpoint: str) -> None:
    """Every lab through CloudFormation, then saved as the baseline snapshot (a failed save is a
    warning). The keys are taken before the deploy: a file edited during it is seen as changed."""
    found = labs.all_labs()
    keys = baseline.current_keys(found)
    _bootstrap(endpoint, found)
    try:
        saved = baseline.save(endpoint, found, keys=keys)
        console.print(f"  saved the baseline snapshot in {saved['save_seconds']:.1f} s "
                      "(`make reset` and the next `make up` restore it)")
        _say_unsettled(saved["unsettled"])
    except baseline.BaselineUnavailable as unavailable:
        console.print(f"  [yellow]{escape(str(unavailable))}[/] (`make reset` will restart and redeploy)")


def _restart(mode: str, eng) -> None:
    """The engine stopped at once and started empty (the host engine's inbox emptied too)."""
    eng.stop(graceful=False)
    if mode == "host":  # the inbox is part of the environment's state: a reset empties it
        shutil.rmtree(eng.state / "mail", ignore_errors=True)
    console.print(f"Restarting the {mode} engine ...")
    eng.start()


def _changed_lab_failed(error: bootstrap.DeployError) -> None:
    console.print("[yellow]The baseline snapshot was restored, but a lab whose files changed did not deploy:[/]")
    console.print(f"  {error}", style="red", markup=False)
    console.print("  the other labs are ready; fix that file, then `make deploy LAB=NN` (or `make reset`)")


def _restore_or_deploy(mode: str, eng) -> bool:
    """The baseline into an engine that holds nothing of a learner's: the snapshot restored,
    else, saying why, every lab deployed through CloudFormation and saved as the snapshot (on an
    engine restarted first when the failed restore had touched it). False: a changed lab failed."""
    try:
        restored, unavailable = _restore_baseline(eng.endpoint)
    except bootstrap.DeployError as error:
        _changed_lab_failed(error)
        return False
    if restored is not None:
        changed = (f"; {len(restored.redeployed)} lab(s) whose files changed redeployed"
                   f"{' and saved' if restored.saved else ''}" if restored.redeployed else "")
        console.print(f"Restored the baseline snapshot in {restored.seconds:.1f} s{changed}")
        return True
    console.print(f"[yellow]Not restoring the baseline snapshot:[/] {escape(str(unavailable))}")
    if unavailable.engine_touched:  # half restored, or emptied: deploy onto a clean engine, never onto that
        console.print("  the failed restore may have changed the engine's state: restarting it before deploying")
        _restart(mode, eng)
    _deploy_and_save(eng.endpoint)
    return True


def cmd_down(_args) -> int:
    mode, eng = _engine()
    started = time.monotonic()
    stopped_console = ConsoleProcess.default().stop()
    done = ([stopped_console] if stopped_console else []) + eng.stop()
    what = "; ".join(done) if done else "nothing was running"
    console.print(f"Down ({mode}): {what} in {time.monotonic() - started:.1f} s")
    return 0


def cmd_status(_args) -> int:
    mode, eng = _engine()
    doc = health(eng.endpoint)
    web = ConsoleProcess.default()
    web_line = (f"Console: [green]running[/] at {web.running_url()}" if web.is_running()
                else "Console: not running (`make up` starts it, `make console` serves it in the foreground)")
    if doc is None:
        state = "[red]not running[/]"
        if eng.crashed():
            state += f" (the last engine ended without `make down`: killed or crashed). {LOST_STATE} `make up` starts fresh"
        console.print(f"Engine: {mode}, {state}. Endpoint would be {eng.endpoint}.")
        console.print(web_line)
        return 1
    console.print(f"Engine: {mode}, [green]healthy[/], LocalStack {doc.get('version', '?')} at {eng.endpoint}")
    console.print(web_line)
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


def cmd_reset(args) -> int:
    """Back to the baseline every lab deployed, keeping the learner's files and records. The
    running engine restores its saved snapshot in place (which also empties the inbox) and
    redeploys the labs whose files changed; FULL=1, or a snapshot that cannot be used, restarts
    the engine and redeploys every lab through CloudFormation, the slow and exact way, saying why."""
    started = time.monotonic()
    mode, eng = _engine()
    with _baseline_lock():
        return _reset(args, mode, eng, started)


def _reset(args, mode: str, eng, started: float) -> int:
    restored, reason = None, None
    if args.full:
        reason = "FULL=1 asks for it"
    elif not eng.is_up():
        reason = f"the {mode} engine is not running"
    else:
        try:
            restored, unavailable = _restore_baseline(eng.endpoint)
        except bootstrap.DeployError as error:
            _changed_lab_failed(error)
            return 1
        reason = str(unavailable) if unavailable else None
    if restored is not None:
        changed = f", {len(restored.redeployed)} changed lab(s) redeployed" if restored.redeployed else ""
        console.print(f"[green]Reset[/] to the baseline in {time.monotonic() - started:.1f} s (snapshot restored "
                      f"in place{changed}; your files and progress are untouched).")
        return 0
    console.print(f"[yellow]Resetting the slow, exact way[/] (restart, redeploy every lab): {escape(reason)}")
    _restart(mode, eng)
    _deploy_and_save(eng.endpoint)
    console.print(f"[green]Reset[/] to the baseline in {time.monotonic() - started:.1f} s (your files and progress "
                  "are untouched).")
    return 0


def cmd_mail(args) -> int:
    """The local inbox: every email the engine sent (SNS email subscriptions), newest last;
    then every SMS it sent (SNS sms subscriptions), which the engine keeps instead of texting."""
    endpoint = _running_endpoint() if not mail.has_smtp_inbox() else settings.endpoint()
    found = mail.read_inbox(endpoint)
    where = (f"Maildir {mail.inbox_dir()} (open it with any mail client, e.g. `mutt -f {mail.inbox_dir()}`)"
             if mail.has_smtp_inbox() else "LocalStack's record of sent email (GET /_aws/ses): no SMTP relay here")
    if not found:
        console.print(f"The inbox is empty. Inbox: {where}")
    for m in found[-args.last:]:
        when = datetime.fromtimestamp(m.received).strftime("%H:%M:%S")
        console.print(f"[bold]{when}[/]  to {m.to}  from {m.sender}  subject: {m.subject}")
        console.print(m.body if args.full else _first_lines(m.body), markup=False)
        console.print()
    if found:
        console.print(f"{len(found)} email(s); showing the last {min(args.last, len(found))}. Inbox: {where}")
    _print_sms(endpoint, args)
    return 0


def _print_sms(endpoint: str, args) -> None:
    """The SMS part of `make mail`: the engine's record of every SMS SNS sent (edalab.sms)."""
    kept = f"the engine keeps them at GET {sms.SMS_ENDPOINT}; none reaches a phone"
    try:
        texts = sms.read(endpoint)
    except OSError as error:
        console.print(f"SMS: not read, {error}", markup=False)
        return
    if not texts:
        console.print(f"No SMS sent ({kept}).", markup=False)
        return
    console.print()
    for text in texts[-args.last:]:
        via = f"via topic {text.topic_name}" if text.topic_name else "sent to the number directly"
        console.print(f"[bold]SMS[/] to {escape(text.phone_number)}  {escape(via)}")
        console.print(text.message if args.full else _first_lines(text.message), markup=False)
        console.print()
    console.print(f"{len(texts)} SMS, by phone number, oldest first; showing the last {min(args.last, len(texts))} "
                  f"({kept}).", markup=False)


def _first_lines(body: str, width: int = 300) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= width else flat[:width] + " … (--full shows all)"


def _running_endpoint() -> str:
    if os.environ.get("EDALAB_ENDPOINT"):  # an engine run elsewhere (tests, a shared machine)
        endpoint = require_local_endpoint(settings.endpoint())
        if health(endpoint) is None:
            raise EngineNotHealthy(f"nothing answers at EDALAB_ENDPOINT={endpoint}")
        return endpoint
    mode, eng = _engine()
    if not eng.is_up():
        raise EngineNotHealthy(f"the {mode} engine is not running: `make up` first")
    return eng.endpoint


def cmd_lab(args) -> int:
    loop.show_lab(args.lab)
    return 0


def cmd_check(args) -> int:
    return 0 if loop.check(args.lab, _running_endpoint()).passed else 1


def cmd_hint(args) -> int:
    loop.hint(args.lab, args.number_option or args.number)
    return 0


def cmd_solution(args) -> int:
    loop.solution(args.lab, _running_endpoint() if args.apply else settings.endpoint(), args.apply)
    return 0


def cmd_deploy(args) -> int:
    loop.deploy(args.lab, _running_endpoint())
    return 0


def cmd_progress(args) -> int:
    loop.progress(args.format)
    return 0


def _lab_command(command: str):
    """`make traffic|experiment|report|drill LAB=NN`: the lab's own tool (edalab.lab_commands)."""
    def run(args) -> int:
        lab_commands.find(args.lab, command)  # a wrong LAB= is refused before the engine is asked
        return lab_commands.run(args.lab, command, _running_endpoint(), args,
                                say=lambda line: console.print(line, markup=False))
    return run


def cmd_usage(args) -> int:
    from edalab import usage_report  # the engine's usage counters (lab 08)

    return usage_report.main(_running_endpoint(), args, say=lambda line: console.print(line, markup=False))


def cmd_trace(args) -> int:
    from edalab.tracing import command  # lab 11's traces, gathered from what the engine recorded

    return command.main(_running_endpoint(), args, say=lambda line: console.print(line, markup=False))


def cmd_aws_plan(args) -> int:
    from edalab import aws_plan  # packages a lab for a real account; sends nothing

    return aws_plan.main(args, say=lambda line: console.print(line, markup=False))


def cmd_bootstrap(_args) -> int:
    _bootstrap(require_local_endpoint(settings.endpoint()))
    return 0


def _number(variable: str, kind: type, example: str):
    """An option's parser that names the make variable in its refusal (`make load COUNT=abc`)."""
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{variable}={text!r} is not {what}: e.g. {variable}={example}") from None
    return parse


def _hint_number(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"N={text!r} is not a hint number: use N=1, N=2, ...")
    return int(text)


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
    p = sub.add_parser("reset", help="back to the baseline every lab deployed")
    p.add_argument("--full", action="store_true", help="the slow, exact way: restart the engine and redeploy every lab")
    p.set_defaults(fn=cmd_reset)
    p = sub.add_parser("mail", help="the local inbox: email the engine sent (alarms through SNS)")
    p.add_argument("--last", type=int, default=5, help="how many of the newest emails (and SMS) to show")
    p.add_argument("--full", action="store_true", help="whole bodies, not their first lines")
    p.set_defaults(fn=cmd_mail)
    for name, fn, text in (
        ("lab", cmd_lab, "where a lab stands and what to do next"),
        ("check", cmd_check, "verify a lab against the running engine"),
        ("deploy", cmd_deploy, "redeploy a lab after editing its handler"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("lab", nargs="?", help="the lab's number, e.g. 01")
        p.set_defaults(fn=fn)
    p = sub.add_parser("hint", help="reveal the next hint of a lab, or show hint N (again)")
    p.add_argument("lab", nargs="?", help="the lab's number, e.g. 01")
    p.add_argument("number", nargs="?", type=_hint_number, help="which hint (default: the next unseen one)")
    p.add_argument("--number", dest="number_option", type=_hint_number, help="the same, as `make hint N=2` passes it")
    p.set_defaults(fn=cmd_hint)
    p = sub.add_parser("solution", help="show (or apply) a lab's reference solution")
    p.add_argument("lab", nargs="?")
    p.add_argument("--apply", action="store_true")
    p.set_defaults(fn=cmd_solution)
    p = sub.add_parser("traffic", help="send a lab's traffic (lab 07: good, slow and poison orders)")
    p.add_argument("lab", nargs="?")
    p.add_argument("--rate", type=_number("RATE", float, "5"), help="messages per second")
    p.add_argument("--fail", type=_number("FAIL", float, "0.1"), help="the share of poison messages, 0 to 1 (0.1 = 10 %%)")
    p.add_argument("--slow", type=_number("SLOW", float, "0.1"), help="the share of slow messages, 0 to 1")
    p.add_argument("--duration", type=_number("DURATION", float, "60"), help="seconds to keep sending")
    p.set_defaults(fn=_lab_command("traffic"))
    p = sub.add_parser("experiment", help="run one of a lab's experiments (lab 08), or list them")
    p.add_argument("lab", nargs="?")
    p.add_argument("name", nargs="?", help="which experiment; none lists them")
    p.add_argument("--count", type=_number("COUNT", int, "240"), help="how many events the workload sends")
    p.add_argument("--rate", type=_number("RATE", float, "4"), help="how many events per second the workload sends")
    p.set_defaults(fn=_lab_command("experiment"))
    p = sub.add_parser("report", help="a lab's report from its recorded runs (lab 08)")
    p.add_argument("lab", nargs="?")
    p.set_defaults(fn=_lab_command("report"))
    p = sub.add_parser("drill", help="break something on purpose and start the clock (lab 09), or list the drills")
    p.add_argument("lab", nargs="?")
    p.add_argument("name", nargs="?", help="which drill; none lists them")
    p.set_defaults(fn=_lab_command("drill"))
    p = sub.add_parser("load", help="post a lab's load run and account for every submission (lab 11)")
    p.add_argument("lab", nargs="?")
    p.add_argument("--count", type=_number("COUNT", int, "2000"), help="how many submissions (default 2,000)")
    p.set_defaults(fn=_lab_command("load"))
    p = sub.add_parser("trace", help="one correlation id's path through lab 11's pipeline, hop by hop")
    p.add_argument("id", nargs="?", help="the correlation id (the POST's answer and every log line carry it)")
    p.set_defaults(fn=cmd_trace)
    p = sub.add_parser("aws-plan", help="package a lab for a real AWS account and print the commands (sends nothing)")
    p.add_argument("lab", nargs="?", help="the lab's number, e.g. 11")
    p.add_argument("--solution", action="store_true", help="package the lab's solution instead of your files")
    p.set_defaults(fn=cmd_aws_plan)
    p = sub.add_parser("usage", help="what the engine served since the last reset: calls, invocations, bytes")
    p.add_argument("--reset", action="store_true", help="start counting again from zero")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(fn=cmd_usage)
    p = sub.add_parser("progress", help="every lab's state for this learner")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(fn=cmd_progress)
    args = parser.parse_args(argv)
    try:
        require_local_endpoint(settings.endpoint())
        return args.fn(args)
    except UnsafeEndpointError as error:
        console.print(f"[red]{error}[/]")
        return 3
    except settings.SettingError as error:
        console.print(f"[red]{error}[/]")
        return 2
    except KeyboardInterrupt:
        console.print("\n[yellow]Stopped[/] (Ctrl-C). A check removes what it made before it stops.")
        return 130
    except labs.UnknownLab as error:
        console.print(f"[red]{error}[/]")
        return 2
    except ExerciseRejected as error:  # the learner's file, not the engine: no pointer to its log
        console.print(str(error), style="red", markup=False)
        return 1
    except (EngineNotHealthy, bootstrap.DeployError, engine.UnknownEngineMode) as error:
        console.print(str(error), style="red", markup=False)
        console.print("  see `make logs` for the engine's side")
        return 1


if __name__ == "__main__":
    sys.exit(main())
