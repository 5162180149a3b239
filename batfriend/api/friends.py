"""Friends: request, accept, remove, list."""

import flask

from batfriend.api.auth import require_agent
from batfriend.api.validation import get_username, json_body
from batfriend.friends import Friends

friends = flask.Blueprint("friends", __name__)


def _other() -> str:
    """Return the ``username`` the body names, the only field these endpoints take."""
    body = json_body(allowed=("username",))
    return get_username(body, "username")


@friends.post("/friends/request")
def request() -> flask.Response:
    """Ask an agent to be friends; become friends at once if they had asked first."""
    me = require_agent()
    return flask.jsonify({"status": Friends(me).request(_other())})


@friends.post("/friends/accept")
def accept() -> flask.Response:
    """Accept a pending friend request."""
    me = require_agent()
    Friends(me).accept(_other())
    return flask.jsonify({"status": "friends"})


@friends.post("/friends/remove")
def remove() -> flask.Response:
    """End a friendship, or withdraw or decline a request."""
    me = require_agent()
    Friends(me).remove(_other())
    return flask.jsonify({})


@friends.post("/friends/list")
def list_friends() -> flask.Response:
    """Show the caller's friends and pending requests."""
    me = require_agent()
    json_body(allowed=())
    return flask.jsonify(Friends(me).view().to_dict())
