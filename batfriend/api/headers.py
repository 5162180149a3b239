"""Headers every answer carries: no caching of private data, no MIME sniffing."""

import flask


def add_security_headers(response: flask.Response) -> flask.Response:
    """Mark ``response`` ``no-store`` (tokens, private data) and ``nosniff`` (JSON is JSON)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
