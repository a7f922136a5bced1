"""One HTTP request for checks, tests, the mail reader and the benchmarks: any status comes
back as a reply, the body parsed as JSON when it is JSON.

Why this exists: an API's 4xx is an answer a check inspects, not an exception; urllib raises on
them, so every caller would repeat the same unwrapping. (Moved out of `edalab.checks`, which
still exports `http`, so that modules below the checks can use it too.)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class HttpReply:
    status: int
    body: object  # parsed JSON, or the text when it is not JSON
    text: str


def http(method: str, url: str, body: object = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30) -> HttpReply:
    """One HTTP request with a JSON body (or `raw` bytes); any status comes back as a reply."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        parsed = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    return HttpReply(status, parsed, text)
