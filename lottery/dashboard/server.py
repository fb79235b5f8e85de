"""The dashboard's local HTTP server (stdlib, 127.0.0.1 only, one thread per request): GET / → the page,
POST /api/<name> {json} → the endpoint's JSON answer. Without data it serves the page that says what to run,
and 503 on /api. The endpoints only read the LoadedAnalysis, so requests are answered concurrently."""

from __future__ import annotations

import json
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from lottery.dashboard import loading, page
from lottery.dashboard.endpoints import Endpoints

HOST = "127.0.0.1"


def _json_default(value):
    """JSON for numpy scalars / arrays and pandas NA that reach an answer."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or value != value:
        return None
    return str(value)


class Loader:
    """Loads the workdir's tables and builds the first specs (Endpoints.warm) in a background thread, so the
    server answers the page at once and the page's first data request waits for both (`get`)."""

    def __init__(self, workdir):
        self.workdir, self._done = workdir, threading.Event()
        self.endpoints, self.error = None, None

    def start(self) -> "Loader":
        """Start reading the tables in a daemon thread."""
        threading.Thread(target=self._load, args=(self.workdir,), daemon=True).start()
        return self

    def _load(self, workdir):
        try:
            endpoints = Endpoints(loading.load(workdir))
            endpoints.warm()
            self.endpoints = endpoints
        except Exception as e:  # noqa: BLE001 - reported to every request
            self.error = e
        finally:
            self._done.set()

    def get(self, timeout: float = 600.0) -> Endpoints:
        """The endpoints once loaded; raises the load's error (or TimeoutError)."""
        if not self._done.wait(timeout):
            raise TimeoutError("the analysis tables are still loading")
        if self.error is not None:
            raise RuntimeError(f"could not read the analysis tables: {type(self.error).__name__}: {self.error}")
        return self.endpoints


def make_handler(loader: Loader | None, missing: loading.MissingData | None):
    """A request handler class bound to the loader of the endpoints (or to the missing-data error)."""
    index = (page.dashboard_page() if loader else
             page.missing_page(missing.workdir, missing.missing, missing.command)).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet: the tests and the terminal need no access log
            pass

        def _send(self, code: int, body: bytes, kind: str):
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, name: str, q: dict):
            if loader is None:
                return self._send(503, json.dumps({"error": str(missing), "command": missing.command}).encode(),
                                  "application/json")
            try:
                endpoints = loader.get()
                answer = endpoints.answer(name, q)  # read-only on the LoadedAnalysis: requests run concurrently
                self._send(200, json.dumps(answer, default=_json_default, allow_nan=False).encode(), "application/json")
            except (RuntimeError, TimeoutError) as e:  # the tables could not be read (or not yet)
                self._send(503, json.dumps({"error": str(e)}).encode(), "application/json")
            except KeyError as e:
                self._send(404, json.dumps({"error": f"unknown endpoint or field {e}"}).encode(), "application/json")
            except (ValueError, TypeError) as e:
                self._send(400, json.dumps({"error": str(e)}).encode(), "application/json")
            except Exception as e:  # noqa: BLE001 - report to the page, keep serving
                traceback.print_exc()
                self._send(500, json.dumps({"error": f"{type(e).__name__}: {e}"}).encode(), "application/json")

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                return self._send(200 if loader else 503, index, "text/html; charset=utf-8")
            if url.path == "/favicon.ico":
                return self._send(204, b"", "image/x-icon")
            if url.path.startswith("/api/"):
                return self._answer(url.path[5:], dict(parse_qsl(url.query)))
            self._send(404, b"not found", "text/plain")

        def do_POST(self):
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                return self._send(404, b"not found", "text/plain")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                q = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as e:
                return self._send(400, json.dumps({"error": f"bad JSON: {e}"}).encode(), "application/json")
            self._answer(url.path[5:], q if isinstance(q, dict) else {})

    return Handler


def make_server(workdir, port: int = 0) -> ThreadingHTTPServer:
    """Bind the server to 127.0.0.1:port (0 = a free port; see server.server_port) and start loading the
    workdir's tables in the background. A workdir without tables gives a server of the missing-data page."""
    missing_paths = loading.missing_files(workdir)
    missing = loading.MissingData(workdir, missing_paths) if missing_paths else None
    loader = None if missing else Loader(workdir)
    server = ThreadingHTTPServer((HOST, port), make_handler(loader, missing))
    server.daemon_threads = True
    server.missing = missing
    server.loader = loader.start() if loader else None
    return server
