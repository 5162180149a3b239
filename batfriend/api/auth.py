"""Authentication of 🔒 requests: ``Authorization: Bearer <token>``."""

import flask

from batfriend.doorman import Doorman, Session
from batfriend.errors import Unauthorized

_MAX_TOKEN_LENGTH = 128


def bearer_token() -> str:
    """Return the request's bearer token; raise Unauthorized when there is none."""
    scheme, _, token = flask.request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise Unauthorized("send Authorization: Bearer <token> from POST /login")
    return token


def require_agent() -> str:
    """Return the username of the request's live session; raise Unauthorized otherwise."""
    return Doorman().check(bearer_token())


def agent_session() -> Session:
    """Return the request's session; its ``along`` reads with the session check in one round trip.

    An unknown token is refused here (401 before any check of the body), as ``require_agent``.
    """
    return Doorman().session(bearer_token())
