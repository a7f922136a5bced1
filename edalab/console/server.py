"""Runs the console: `python -m edalab.console` (what `make console` calls).

Why this exists: the console is its own process, next to the engine, so it keeps working
whichever way the engine runs and never slows the engine's own threads. It listens on
127.0.0.1 only, at EDALAB_CONSOLE_PORT (default 8080), and opens nothing by itself. It refuses
to start, with exit code 3 and the words every other command uses, when the engine endpoint
is not on this machine.
"""

from __future__ import annotations

import argparse
import logging
import sys

from edalab import settings
from edalab.safety import UnsafeEndpointError

HOST = "127.0.0.1"


def build_app():
    from edalab.console.app import create_app
    from edalab.console.engine_view import EngineView
    from edalab.engine import chosen_mode

    return create_app(EngineView(settings.endpoint(), settings.state_dir(), mode=chosen_mode()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edalab.console", description="EDA Lab's local console")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: EDALAB_CONSOLE_PORT or 8080)")
    args = parser.parse_args(argv)
    try:
        port = args.port or settings.console_port()
        app = build_app()
    except UnsafeEndpointError as error:
        print(error, file=sys.stderr)
        return 3
    except settings.SettingError as error:
        print(error, file=sys.stderr)
        return 2
    if settings._listening(port):  # e.g. the console `make up` started: say so, not a bind error
        print(f"Port {port} is already taken (by the console `make up` started? then open http://{HOST}:{port}); "
              f"set EDALAB_CONSOLE_PORT to a free port, e.g. EDALAB_CONSOLE_PORT=8081", file=sys.stderr)
        return 1
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"Console: http://{HOST}:{port}  (engine {app.state.view.endpoint}; Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)
    return 0
