"""The one place errors become responses: the JSON envelope for every failure.

``{"error": {"code": "...", "message": "..."}}`` answers our own errors,
Flask's (404, 405, 413, 415...), unreachable databases (503), anything else
Redis refuses (503 with ``Retry-After``: out of memory, a read-only replica
during a failover, loading, busy) and, as a last resort, unexpected exceptions
(500, logged with their traceback).
"""

import logging

import flask
from werkzeug.exceptions import HTTPException

from batfriend.databases import DATABASE_DOWN, REDIS_OUT_OF_MEMORY, REDIS_REFUSED
from batfriend.errors import BatfriendError, error_classes

logger = logging.getLogger(__name__)

# Flask's own errors get the codes of ours with the same status, plus three only Flask raises.
HTTP_CODES = {
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
    response = envelope(status, HTTP_CODES.get(status, "internal_error"), error.description or "")
    allowed = getattr(error, "valid_methods", None)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _database_down(error: Exception) -> flask.Response:
    logger.warning("database unavailable on %s: %s", flask.request.path, error)
    return envelope(503, "unavailable", "a database is unreachable; try again later")


# Seconds a client should wait after Redis refused a command: out of memory lasts until
# the archiver or an operator frees some; a failover or a restart's loading, seconds.
REDIS_RETRY_AFTER = 5


def _redis_refused(error: Exception) -> flask.Response:
    """503 for an error reply of Redis (OOM, READONLY, LOADING, BUSY...): try again later."""
    if isinstance(error, REDIS_OUT_OF_MEMORY):
        logger.warning("Redis is out of memory on %s", flask.request.path)
        message = "the database is out of memory; try again later"
    else:
        logger.error("Redis refused a command on %s", flask.request.path, exc_info=error)
        message = "the database refused the request; try again later"
    response = envelope(503, "unavailable", message)
    response.headers["Retry-After"] = str(REDIS_RETRY_AFTER)
    return response


def _unexpected(error: Exception) -> flask.Response:
    logger.exception("unexpected error on %s %s", flask.request.method, flask.request.path)
    return envelope(500, "internal_error", "something went wrong on our side; it has been logged")


def install_error_handlers(app: flask.Flask) -> None:
    """Answer every failure on ``app`` with the JSON envelope."""
    app.register_error_handler(BatfriendError, _batfriend_error)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in DATABASE_DOWN:
        app.register_error_handler(database_error, _database_down)
    app.register_error_handler(REDIS_REFUSED, _redis_refused)
    app.register_error_handler(Exception, _unexpected)
