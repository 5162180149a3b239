"""Headers every answer carries: no caching of private data, no MIME sniffing."""

from collections.abc import Callable, Iterable
from typing import Any

SECURITY_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SecurityHeaders:
    """WSGI middleware: every answer ``no-store`` (tokens, private data) and ``nosniff``
    (JSON is JSON), errors included; added as the answer starts, so no response object
    needs setting up per request (cheaper than a Flask after-request hook)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Run the app, adding the headers to the status and headers it starts with."""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + SECURITY_HEADERS, exc_info)

        return self.app(environ, start)
