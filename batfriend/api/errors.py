"""The one place errors become responses: the JSON envelope for every failure.

``{"error": {"code": "...", "message": "..."}}`` answers our own errors,
Flask's (404, 405, 413, 415...), unreachable databases (503) and, as a last
resort, unexpected exceptions (500, logged with their traceback).
"""

import logging

import flask
from werkzeug.exceptions import HTTPException

from batfriend.databases import DATABASE_DOWN
from batfriend.errors import BatfriendError, error_classes

logger = logging.getLogger(__name__)

# Flask's own errors get the codes of ours with the same status, plus three only Flask raises.
_HTTP_CODES = {
    **{cls.status: cls.code for cls in error_classes()},
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def envelope(status: int, code: str, message: str, **extra: object) -> flask.Response:
    """Return the JSON error envelope with ``status``; ``extra`` adds top-level fields."""
    response = flask.jsonify({"error": {"code": code, "message": message}, **extra})
    response.status_code = status
    return response


def _batfriend_error(error: BatfriendError) -> flask.Response:
    response = envelope(error.status, error.code, error.message)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _http_error(error: HTTPException) -> flask.Response:
    status = error.code or 500
    response = envelope(status, _HTTP_CODES.get(status, "internal_error"), error.description or "")
    allowed = getattr(error, "valid_methods", None)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _database_down(error: Exception) -> flask.Response:
    logger.warning("database unavailable on %s: %s", flask.request.path, error)
    return envelope(503, "unavailable", "a database is unreachable; try again later")


def _unexpected(error: Exception) -> flask.Response:
    logger.exception("unexpected error on %s %s", flask.request.method, flask.request.path)
    return envelope(500, "internal_error", "something went wrong on our side; it has been logged")


def install_error_handlers(app: flask.Flask) -> None:
    """Answer every failure on ``app`` with the JSON envelope."""
    app.register_error_handler(BatfriendError, _batfriend_error)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in DATABASE_DOWN:
        app.register_error_handler(database_error, _database_down)
    app.register_error_handler(Exception, _unexpected)
