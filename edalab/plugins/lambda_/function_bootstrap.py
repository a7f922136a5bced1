"""Entry point of a local Lambda function process.

Why this exists: the real runtime client (`awslambdaric`) runs the handler, exactly as in
AWS's Python images; this wrapper adds the one duty a container gave for free: when the
engine dies, its functions die with it. The engine holds this process's stdin open, so
end-of-file on stdin means the engine is gone, and the process exits at once.
"""

import os
import sys
import threading


def _exit_when_engine_goes() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)


def main() -> None:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m edalab.plugins.lambda_.function_bootstrap <handler>\n")
        raise SystemExit(2)
    threading.Thread(target=_exit_when_engine_goes, name="engine-watch", daemon=True).start()
    from awslambdaric.__main__ import main as run_runtime_client

    run_runtime_client([sys.argv[0], sys.argv[1]])


if __name__ == "__main__":
    main()
