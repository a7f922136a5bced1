"""Fixtures for the console's browser tests: the console process, Chromium, a guarded page.

Why this exists: the console is proven in a real browser (Playwright driving Debian's
Chromium, launched by path: `playwright install` downloads a browser and cannot work
offline). Without Chromium the tests skip and say how to install it, except under CI=true,
where a missing browser fails the run. Every page is guarded: a request to any host but
127.0.0.1/localhost is aborted and fails the test. Screenshots go to tests/artifacts/
(ignored by git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from edalab.waiting import wait_for
from support import free_port

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """Debian's Chromium, or a skip (a failure under CI=true) that says how to get it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = "no Chromium on this machine: `apt-get install -y chromium` (scripts/setup does it when run as root on Debian/Ubuntu)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {why}")
    pytest.skip(why)


@dataclass
class Console:
    url: str
    process: subprocess.Popen
    log: Path


def start_console(endpoint: str, state_dir: Path, log: Path, port: int | None = None) -> Console:
    """`python -m edalab.console` against `endpoint`, on a free port; waits until it answers."""
    import urllib.request

    port = port or free_port()
    env = {**os.environ, "EDALAB_ENDPOINT": endpoint, "EDALAB_STATE_DIR": str(state_dir),
           "EDALAB_CONSOLE_PORT": str(port)}
    handle = open(log, "ab")
    process = subprocess.Popen([sys.executable, "-m", "edalab.console"], env=env, stdout=handle,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the console exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/static/console.css", timeout=1):
                return True
        except OSError:
            return False
    wait_for(answers, timeout=30, what="the console to answer")
    return Console(url, process, log)


@pytest.fixture(scope="session")
def console(lab_engine, tmp_path_factory) -> Iterator[Console]:
    """The console against the session engine (every lab deployed), on a free port."""
    state = lab_engine.host.state if lab_engine.host else tmp_path_factory.mktemp("console-state")
    running = start_console(lab_engine.endpoint, state, tmp_path_factory.mktemp("console") / "console.log")
    try:
        yield running
    finally:
        running.process.terminate()
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            running.process.kill()


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_page(chromium, console):
    """A fresh browser page on the console; fails the test if it asked any other host."""
    context = chromium.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    foreign: list[str] = []

    def guard(route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()
    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()
    assert not foreign, f"the console's page asked another host for: {foreign}"


def screenshot(page, name: str) -> Path:
    """Saves a full-page screenshot as tests/artifacts/<name>.png (look at it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

