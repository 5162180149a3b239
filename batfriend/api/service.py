"""Service endpoints: the bat at ``/`` and ``/status``, readiness, ``/sqs`` for the worker tier."""

import flask

from batfriend.api.errors import envelope
from batfriend.api.validation import json_body
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
sqs = flask.Blueprint("sqs", __name__)


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


@sqs.post("/sqs")
def receive_sqs() -> flask.Response:
    """Accept one message from the Elastic Beanstalk worker daemon; 200 deletes it."""
    json_body(allowed=("type", "to", "body"))
    return flask.jsonify({})
