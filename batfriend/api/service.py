"""Service endpoints: the bat at ``/`` and ``/status``, and readiness."""

import flask

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
