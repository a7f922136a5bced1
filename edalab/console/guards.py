"""Keeps the console local and its actions deliberate.

Why this exists: the console can send, purge, redrive and invoke. A page on another site
must not be able to make the learner's browser do that (a cross-site POST), and a hostile
DNS name pointed at 127.0.0.1 must not be able to read it (DNS rebinding). So:
- requests must name this machine in `Host` (127.0.0.1, localhost or [::1]);
- a request that changes something (any method but GET/HEAD/OPTIONS) is refused with 403
  when its `Origin` is another site's, or the browser marks it `Sec-Fetch-Site: cross-site`.
The console only ever listens on 127.0.0.1 (server.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _host_of(value: str) -> str:
    return (urlsplit("//" + value).hostname or "").lower()


class LocalOnly:
    """ASGI middleware: a foreign Host is refused; a foreign Origin may not change anything."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["method"], headers)
        if refusal:
            await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(method: str, headers: dict[str, str]) -> str | None:
        host = _host_of(headers.get("host", ""))
        if host not in LOCAL_HOSTS and host.strip("[]") not in LOCAL_HOSTS:
            return f"Refused: the console answers only to 127.0.0.1 or localhost, not {headers.get('host')!r}."
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and (origin == "null" or _host_of(urlsplit(origin).netloc) not in LOCAL_HOSTS
                                   or urlsplit(origin).netloc != headers.get("host")):
            return f"Refused: this action may only come from the console's own pages, not from {origin!r}."
        if headers.get("sec-fetch-site") == "cross-site":
            return "Refused: this action may only come from the console's own pages."
        return None
