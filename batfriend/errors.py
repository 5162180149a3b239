"""The exceptions batfriend raises on purpose, each knowing its HTTP status and API code.

Models raise them; the one error handler in ``batfriend.api.errors`` turns any
of them into the JSON envelope ``{"error": {"code", "message"}}``.
"""


class BatfriendError(Exception):
    """Base class: ``status`` and ``code`` say how the API reports it."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(BatfriendError):
    """Input failed validation; ``field`` names the offending field when there is one."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Unauthorized(BatfriendError):
    """No token, a bad or expired token, or wrong credentials."""

    status = 401
    code = "unauthorized"


SESSION_GONE = "the token is unknown, expired or logged out; log in again"


class Forbidden(BatfriendError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"


class NotFound(BatfriendError):
    """No such agent, message, lobby or pending request."""

    status = 404
    code = "not_found"


class Conflict(BatfriendError):
    """The thing is taken or already in progress."""

    status = 409
    code = "conflict"


class TooManyRequests(BatfriendError):
    """A rate limit was hit; ``retry_after`` says in how many seconds to try again."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Unavailable(BatfriendError):
    """A database cannot be reached or did not answer in time, or the server is too busy.

    ``retry_after`` (seconds), when known, becomes the answer's ``Retry-After``.
    """

    status = 503
    code = "unavailable"

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_classes() -> list[type[BatfriendError]]:
    """Return ``BatfriendError`` and every subclass: the one table of statuses and API codes."""
    found: list[type[BatfriendError]] = [BatfriendError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return found
