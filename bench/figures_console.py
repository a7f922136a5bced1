"""Figures for the console (#14): how fast it starts and renders, what it holds in memory, and
what its polling pages cost the engine.

Why this exists: issue #14 sets the console's goals: start to first answer within 1 s, a page
with every lab deployed rendered in 100 ms (median), at most 80 MB of its own memory, and with
5 pages open and polling, the engine's CPU no more than 10 % of one core above what it uses
with no console. Call `console(engine)` from bench/run.py once every lab is deployed on
`engine` (a HostEngine); it starts and stops its own console processes.

The 5 open pages are 5 threads that poll the first five pages of the navigation bar every 2 s
exactly as htmx does (`HX-Request: true`, `HX-Target: live`), so no browser is needed.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import psutil
from figures import Figure
from figures_polling import _cpu_seconds, idle_cpu_percent
from support import free_port

from edalab.console.pages import NAVIGATION
from edalab.console.process import ConsoleProcess
from edalab.engine.host import HostEngine

OPEN_PAGES = 5
POLL_SECONDS = 2.0  # what every page's hx-trigger says
CACHE_TTL_SECONDS = 1.0  # engine_view.LIVE_TTL: renders spaced wider than this read the engine afresh


def _console(engine: HostEngine) -> tuple[ConsoleProcess, float]:
    """A console against `engine` on a free port; returns it and its start to first answer in ms."""
    web = ConsoleProcess(engine.state, free_port())  # its pid and log beside the engine's, as `make up` does
    return web, web.start(engine.endpoint, "host") * 1000


def _get(url: str, live: bool = False) -> int:
    headers = {"HX-Request": "true", "HX-Target": "live"} if live else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start_ms(engine: HostEngine, runs: int) -> list[float]:
    """`python -m edalab.console` started to its first answer, `runs` times."""
    samples = []
    for _ in range(runs):
        web, started = _console(engine)
        samples.append(started)
        web.stop()
    return samples


def render_ms(url: str, runs: int) -> list[float]:
    """The whole page at `url`, each render more than the cache's lifetime after the last, so
    each reads the engine afresh (what a page costs, not what the cache saves)."""
    _get(url)  # the first render builds the page's clients; not counted
    samples = []
    for _ in range(runs):
        time.sleep(CACHE_TTL_SECONDS + 0.05)
        started = time.perf_counter()
        status = _get(url)
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")
    return samples


def rss_after_every_page_mb(web: ConsoleProcess, rounds: int) -> list[float]:
    """The console's resident memory after rendering every page of the navigation bar, per round."""
    samples = []
    for _ in range(rounds):
        for _title, path in NAVIGATION:
            _get(web.url + path)
        samples.append(psutil.Process(web.pid()).memory_info().rss / 1e6)
    return samples


class _Pollers:
    """`count` threads, each an open page polling its live part every POLL_SECONDS."""

    def __init__(self, base: str, count: int) -> None:
        self.paths = [path for _title, path in NAVIGATION][:count]
        self.stopping = threading.Event()
        self.polls = 0
        self.failed: list[str] = []
        self.threads = [threading.Thread(target=self._poll, args=(base + path,), daemon=True) for path in self.paths]

    def _poll(self, url: str) -> None:
        while not self.stopping.is_set():
            status = _get(url, live=True)
            self.polls += 1
            if status >= 500:
                self.failed.append(f"{url}: {status}")
            self.stopping.wait(POLL_SECONDS)

    def __enter__(self) -> _Pollers:
        for thread in self.threads:
            thread.start()
        time.sleep(POLL_SECONDS)  # every page has polled once: their engine clients exist
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=35)


def console(engine: HostEngine, starts: int = 5, renders: int = 20, cpu_seconds: float = 20.0) -> list[Figure]:
    """Every figure of this module; `engine` has every lab deployed."""
    started = start_ms(engine, starts)
    quiet = idle_cpu_percent(engine, cpu_seconds)  # the engine with no console at all
    web, _ = _console(engine)
    try:
        render = render_ms(web.url + "/", renders)
        memory = rss_after_every_page_mb(web, rounds=3)
        with _Pollers(web.url, OPEN_PAGES) as pollers:
            own, began = _cpu_seconds(web.pid()), time.monotonic()
            polled = idle_cpu_percent(engine, cpu_seconds)
            console_cpu = [100 * (_cpu_seconds(web.pid()) - own) / (time.monotonic() - began)]
        if pollers.failed:
            raise RuntimeError(f"polled pages failed: {pollers.failed[:3]}")
    finally:
        web.stop()
    pages = ", ".join(pollers.paths)
    return [
        Figure("console start to first answer (goal: 1 s)", "ms", started),
        Figure("console overview page, every lab deployed, uncached (goal: 100 ms median)", "ms", render),
        Figure("console memory (RSS) after every page (goal: 80 MB)", "MB", memory),
        Figure(f"engine CPU, {OPEN_PAGES} console pages polling every 2 s ({pages}) (goal: +10 %)", "% core",
               polled, {"no console": quiet}),
        Figure(f"console's own CPU, {OPEN_PAGES} pages polling every 2 s", "% core", console_cpu),
    ]


if __name__ == "__main__":  # `PYTHONPATH=tests .venv/bin/python bench/figures_console.py`: these alone
    import tempfile
    from pathlib import Path

    import report

    from edalab import labs

    lab_engine = HostEngine(Path(tempfile.mkdtemp(prefix="edalab-bench-console-")), free_port())
    lab_engine.start()
    try:
        labs.deploy_all(lab_engine.endpoint)
        report.print_table(console(lab_engine))
    finally:
        lab_engine.stop()
