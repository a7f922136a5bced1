"""The two baselines every benchmark figure is printed beside.

Why this exists: on a shared 2-core machine an absolute figure means little; the same boto3
loop run against two references in the same run tells what the engine costs:
  - a canned server: a loopback HTTP server that answers every request at once with a fixed
    response botocore accepts. Nothing is faster through boto3 here; it is the ceiling for
    any emulator (client, HTTP and loopback costs only);
  - moto in server mode: a peer emulator (the library LocalStack itself bundles), for the calls
    it serves without Docker (SQS, SNS, S3, DynamoDB; not Lambda invocations).
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.server import ThreadedMotoServer
from support import free_port


_SNS_REPLY = (b'<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult>'
              b"<Successful/><Failed/></PublishBatchResult></PublishBatchResponse>")
_JSON_REPLY = b'{"MessageId": "00000000-0000-0000-0000-000000000000", "Messages": []}'


class _CannedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if b"Action=" in body:  # query protocol (SNS)
            reply, content_type = _SNS_REPLY, "text/xml"
        elif self.headers.get("X-Amz-Target") or "json" in (self.headers.get("Content-Type") or "") \
                or self.path.startswith("/2015-03-31/"):  # JSON protocols (SQS, DynamoDB), Lambda, HTTP APIs
            reply, content_type = _JSON_REPLY, "application/json"
        else:  # S3's REST calls: headers only; botocore reads an unexpected body as an error
            reply, content_type = b"", "application/xml"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args) -> None:
        return None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        return None  # a client closing its kept-alive connection is not news


class CannedServer:
    """Answers every request with a canned 200; `with CannedServer() as url: ...`."""

    def __enter__(self) -> str:
        self._server = _QuietServer(("127.0.0.1", 0), _CannedHandler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class MotoServer:
    """moto's own server on a free loopback port; `start()` returns the seconds to healthy."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> float:
        started = time.perf_counter()
        self._server.start()  # returns once the server accepts requests
        return time.perf_counter() - started

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> str:
        self.start()
        return self.url

    def __exit__(self, *exc) -> None:
        self.stop()
