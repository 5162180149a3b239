"""The Flask application: blueprints, the error envelope and the request log."""

import logging
import time

import flask

from batfriend import config
from batfriend.api.agents import agents
from batfriend.api.errors import install_error_handlers
from batfriend.api.friends import friends
from batfriend.api.headers import SecurityHeaders
from batfriend.api.json_provider import OrjsonProvider
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


def under_uwsgi() -> bool:
    """Return whether this process is a uWSGI worker (only uWSGI provides the ``uwsgi`` module)."""
    try:
        import uwsgi  # noqa: F401
    except ImportError:
        return False
    return True


def create_app(expose_sqs: bool | None = None, log_requests: bool | None = None) -> flask.Flask:
    """Build the app; ``/sqs`` exists only when ``expose_sqs`` (default: BATFRIEND_EXPOSE_SQS).

    ``log_requests`` (default: unless under uWSGI, whose log-format writes the line in C)
    logs one line per request from Python.
    """
    app = flask.Flask("batfriend", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = OrjsonProvider(app)
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
    if not under_uwsgi() if log_requests is None else log_requests:
        app.before_request(_start_timer)
        app.after_request(_log_request)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
    return app
