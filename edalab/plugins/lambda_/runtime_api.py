"""The AWS Lambda Runtime API, served to one local function process.

Why this exists: on AWS (and in LocalStack's Docker mode) a function's runtime client
(`awslambdaric` for Python) long-polls an HTTP API for the next event and posts back a
response or an error. Serving that same API here lets the real runtime client run the
handler, so the context object, the error shape and the log lines are the ones AWS shows.

One server serves one execution environment, which runs one invocation at a time:
`hand_over()` gives it an event and `wait_outcome()` waits for what came back. When the
environment's process is replaced (it crashed, timed out or was killed), the dead process's
long poll for its next event is ended, so it cannot take an event meant for the new one.
"""

from __future__ import annotations

import json
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_PREFIX = "/2018-06-01/runtime"


@dataclass
class Event:
    """One invocation handed to the runtime."""

    request_id: str
    payload: bytes
    function_arn: str
    trace_id: str
    deadline_ms: int
    client_context: str | None = None


@dataclass
class Outcome:
    """What the runtime (or its process) said about an invocation or about its start."""

    kind: str  # "ready", "response", "error", "init_error", "exited"
    request_id: str | None = None
    body: bytes = b""
    error_type: str | None = None
    exit_code: int | None = None
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # the owner, set after construction
    api: RuntimeApi

    def handle_error(self, request, client_address) -> None:
        # A function process that dies (crash, timeout, kill) drops its connection; the
        # executor sees the death itself, so a write to that connection failing is expected.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle's algorithm adds ~40 ms to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        return  # the runtime's traffic is not worth logging

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')
            return
        event = self.server.api.next_event()
        if event is None:  # shutting down
            self._reply(HTTPStatus.GONE)
            return
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": event.request_id,
            "Lambda-Runtime-Deadline-Ms": str(event.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": event.function_arn,
            "Lambda-Runtime-Trace-Id": event.trace_id,
        }
        if event.client_context:
            headers["Lambda-Runtime-Client-Context"] = event.client_context
        self._reply(HTTPStatus.OK, event.payload, headers)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        body = self._body()
        parts = self.path.removeprefix(API_PREFIX).strip("/").split("/")
        api = self.server.api
        if parts == ["init", "error"]:
            api.record(Outcome("init_error", body=body, error_type=self._error_type()))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            kind = parts[2]
            api.record(
                Outcome(kind, request_id=parts[1], body=body, error_type=self._error_type())
            )
        else:
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorMessage":"unknown path"}')
            return
        self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}', {"Content-Type": "application/json"})

    def _error_type(self) -> str | None:
        return self.headers.get("Lambda-Runtime-Function-Error-Type")


class RuntimeApi:
    """A Runtime API endpoint on 127.0.0.1 with a free port, for one execution environment."""

    def __init__(self) -> None:
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._outcomes: queue.Queue[Outcome] = queue.Queue()
        self._announced_ready = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            # a stop (close) waits for the serving loop's next look: 0.1 s, not the default 0.5 s
            target=self._server.serve_forever, args=(0.1,), name="lambda-runtime-api", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    # called by the HTTP handler threads
    def next_event(self) -> Event | None:
        events = self._events  # this process's queue: replaced, with a None in it, on restart
        if not self._announced_ready:
            # The runtime asks for its first event once its init (imports, globals) is done.
            self._announced_ready = True
            self.record(Outcome("ready"))
        return events.get()

    def record(self, outcome: Outcome) -> None:
        self._outcomes.put(outcome)

    # called by the executor
    def expect_restart(self) -> None:
        """A new runtime process will call in: its first poll means it is ready again.

        A process killed while it waited for its next event leaves that poll blocked here;
        it gets None (and a 410 to nobody) instead of the new process's first event."""
        self._announced_ready = False
        self._drain_outcomes()
        previous, self._events = self._events, queue.Queue()
        previous.put(None)

    def hand_over(self, event: Event) -> None:
        self._drain_outcomes()
        self._events.put(event)

    def wait_outcome(self, timeout: float) -> Outcome | None:
        try:
            return self._outcomes.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def _drain_outcomes(self) -> None:
        _empty(self._outcomes)

    def drop_pending_events(self) -> None:
        _empty(self._events)

    def close(self) -> None:
        self._events.put(None)  # release a waiting long-poll
        self._server.shutdown()
        self._server.server_close()


def _empty(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


def error_body(error_type: str, message: str) -> bytes:
    """An error payload in the shape Lambda returns for platform errors."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
