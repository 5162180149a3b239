"""Service endpoints: the bat at ``/`` and ``/status``."""

import flask

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
