"""Service endpoints: the bat at ``/`` and ``/status``, readiness, and the OpenAPI document."""

import functools

import flask

from batfriend.api import openapi
from batfriend.api.errors import envelope
from batfriend.health import OK, Health

BAT = r"""
 /\                 /\
/ \'._   (\_/)   _.'/ \
|.''._'--(o.o)--'_.''.|
 \_ / `;=/ " \=;` \ _/
   `\__| \___/ |__/`
        \(_|_)/
         " ` "
     batfriend
"""

service = flask.Blueprint("service", __name__)


@service.get("/")
def bat() -> flask.Response:
    """Show the bat, so a ping proves the service is up."""
    return flask.Response(BAT, mimetype="text/plain")


@service.get("/status")
def status() -> flask.Response:
    """Show the bat again, so a ping proves it is *our* code answering."""
    return bat()


@service.get("/ready")
def ready() -> flask.Response:
    """Say whether Redis and SQL answer; 503 with both states when either does not."""
    states = Health().view()
    down = [name for name, state in states.items() if state != OK]
    if down:
        return envelope(
            503, "unavailable", f"{' and '.join(down)} unreachable; retry later", **states
        )
    return flask.jsonify(states)


@functools.cache
def _openapi_json() -> bytes:
    return flask.json.dumps(openapi.document()).encode()


@service.get("/openapi.json")
def openapi_document() -> flask.Response:
    """Serve the HTTP contract as an OpenAPI 3.1 document (public, no token)."""
    return flask.Response(_openapi_json(), mimetype="application/json")
