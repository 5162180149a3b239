"""Lobbies: join, leave, post, read the history, view."""

import flask

from batfriend.api.auth import require_agent
from batfriend.api.validation import LOBBY_NAME, get_page, get_str, json_body
from batfriend.lobby import Lobby
from batfriend.message import MAX_BODY_LENGTH

lobbies = flask.Blueprint("lobbies", __name__)


def _lobby(body: dict) -> Lobby:
    """Return the Lobby the body's ``lobby`` field names."""
    return Lobby(get_str(body, "lobby", max_length=32, pattern=LOBBY_NAME))


@lobbies.post("/lobbies/join")
def join() -> flask.Response:
    """Join a lobby, creating it if nobody has yet."""
    me = require_agent()
    return flask.jsonify(_lobby(json_body(allowed=("lobby",))).join(me).to_dict())


@lobbies.post("/lobbies/leave")
def leave() -> flask.Response:
    """Leave a lobby."""
    me = require_agent()
    _lobby(json_body(allowed=("lobby",))).leave(me)
    return flask.jsonify({})


@lobbies.post("/lobbies/post")
def post() -> tuple[flask.Response, int]:
    """Post a message to a lobby the caller has joined."""
    me = require_agent()
    body = json_body(allowed=("lobby", "body"))
    lobby = _lobby(body)
    message = lobby.post(me, get_str(body, "body", max_length=MAX_BODY_LENGTH))
    return flask.jsonify({"id": message.id, "sent_at": message.sent_at}), 201


@lobbies.post("/lobbies/history")
def history() -> flask.Response:
    """Show a lobby's recent messages, newest first, one page at a time."""
    me = require_agent()
    body = json_body(allowed=("lobby", "before", "limit"))
    page, next_before = _lobby(body).history(me, *get_page(body))
    return flask.jsonify({"messages": [m.to_dict() for m in page], "next_before": next_before})


@lobbies.post("/lobbies/view")
def view() -> flask.Response:
    """Show a lobby: member count, who is online, messages posted."""
    me = require_agent()
    return flask.jsonify(_lobby(json_body(allowed=("lobby",))).view(me).to_dict())
