"""The Flask application: blueprints, the error envelope and the request log."""

import logging
import time

import flask

from batfriend import config
from batfriend.api.agents import agents
from batfriend.api.errors import install_error_handlers
from batfriend.api.friends import friends
from batfriend.api.lobbies import lobbies
from batfriend.api.messages import messages
from batfriend.api.phones import phones
from batfriend.api.service import service
from batfriend.api.sqs import sqs

MAX_BODY_BYTES = 64 * 1024

request_log = logging.getLogger("batfriend.request")


def _start_timer() -> None:
    flask.g.started = time.perf_counter()


def _log_request(response: flask.Response) -> flask.Response:
    elapsed_ms = (time.perf_counter() - flask.g.get("started", time.perf_counter())) * 1000
    request_log.info(
        "%s %s %d %.1fms",
        flask.request.method,
        flask.request.path,
        response.status_code,
        elapsed_ms,
    )
    return response


def create_app(expose_sqs: bool | None = None) -> flask.Flask:
    """Build the app; ``/sqs`` exists only when ``expose_sqs`` (default: BATFRIEND_EXPOSE_SQS)."""
    app = flask.Flask("batfriend", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.register_blueprint(service)
    app.register_blueprint(agents)
    app.register_blueprint(phones)
    app.register_blueprint(friends)
    app.register_blueprint(messages)
    app.register_blueprint(lobbies)
    if config.BATFRIEND_EXPOSE_SQS if expose_sqs is None else expose_sqs:
        app.register_blueprint(sqs)
    install_error_handlers(app)
    app.before_request(_start_timer)
    app.after_request(_log_request)
    return app
