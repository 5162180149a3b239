"""Agents and sessions: register, log in, log out, view a profile."""

import flask

from batfriend.agent import Agent
from batfriend.api.auth import agent_session, bearer_token
from batfriend.api.validation import get_str, get_username, json_body
from batfriend.doorman import Doorman

agents = flask.Blueprint("agents", __name__)


@agents.post("/agents/register")
def register() -> tuple[flask.Response, int]:
    """Create an account; 409 when the username is taken."""
    body = json_body(allowed=("username", "password", "display_name"))
    username = get_username(body, "username")
    password = get_str(body, "password", min_length=8, max_length=256)
    display_name = get_str(body, "display_name", max_length=64, required=False)
    snapshot = Agent(username).register(password, display_name)
    return flask.jsonify(snapshot.to_dict()), 201


@agents.post("/login")
def login() -> flask.Response:
    """Exchange a username and password for a session token."""
    body = json_body(allowed=("username", "password"))
    username = get_username(body, "username")
    password = get_str(body, "password", max_length=256)
    token, expires_at = Doorman().login(username, password)
    return flask.jsonify({"token": token, "expires_at": expires_at})


@agents.post("/logout")
def logout() -> flask.Response:
    """End the caller's session at once."""
    token = bearer_token()
    doorman = Doorman()
    doorman.check(token)
    json_body(allowed=())
    doorman.logout(token)
    return flask.jsonify({})


@agents.post("/agents/view")
def view() -> flask.Response:
    """Show an agent's public profile."""
    session = agent_session()
    body = json_body(allowed=("username",))
    username = get_username(body, "username")
    return flask.jsonify(Agent(username).view(session).to_dict())
