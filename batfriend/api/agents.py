"""Agents and sessions: register, log in, log out, view a profile.

Logins and registrations are counted per client address before any password is
hashed (``BATFRIEND_ADDRESS_LIMIT_PER_MINUTE``). Failed logins, lockouts and
refused addresses go to the ``batfriend.audit`` log with the username and the
client address, never the password or a token.
"""

import logging

import flask

from batfriend import config
from batfriend.agent import Agent
from batfriend.api.auth import agent_session, bearer_token
from batfriend.api.client import client_address
from batfriend.api.validation import get_display_name, get_str, get_username, json_body
from batfriend.doorman import Doorman
from batfriend.errors import TooManyRequests, Unauthorized
from batfriend.rate_limiter import RateLimiter

ADDRESS_WINDOW = 60.0

agents = flask.Blueprint("agents", __name__)
audit = logging.getLogger("batfriend.audit")


def _count_address(action: str) -> str:
    """Count a login or registration against the client's address; return the address."""
    address = client_address()
    limiter = RateLimiter("address", config.BATFRIEND_ADDRESS_LIMIT_PER_MINUTE, ADDRESS_WINDOW)
    try:
        limiter.hit(address)
    except TooManyRequests:
        audit.warning("%s refused: address %s is over its limit a minute", action, address)
        raise
    return address


@agents.post("/agents/register")
def register() -> tuple[flask.Response, int]:
    """Create an account; 409 when the username is taken."""
    body = json_body(allowed=("username", "password", "display_name"))
    username = get_username(body, "username")
    password = get_str(body, "password", min_length=8, max_length=256)
    display_name = get_display_name(body, "display_name")
    _count_address("registration")
    snapshot = Agent(username).register(password, display_name)
    return flask.jsonify(snapshot.to_dict()), 201


@agents.post("/login")
def login() -> flask.Response:
    """Exchange a username and password for a session token."""
    body = json_body(allowed=("username", "password"))
    username = get_username(body, "username")
    password = get_str(body, "password", max_length=256)
    address = _count_address("login")
    try:
        token, expires_at = Doorman().login(username, password)
    except Unauthorized:
        audit.info("failed login for %s from %s", username, address)
        raise
    except TooManyRequests:
        audit.warning("login locked out for %s from %s", username, address)
        raise
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
