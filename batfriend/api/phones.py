"""Phones and contact discovery: set your number, find which contacts are agents."""

import flask

from batfriend import config
from batfriend.api.auth import require_agent
from batfriend.api.validation import get_phone, get_phone_list, json_body
from batfriend.phone_numbers import PhoneNumbers
from batfriend.rate_limiter import RateLimiter

DISCOVER_MAX_PHONES = 1000
DISCOVER_WINDOW = 24 * 3600.0

phones = flask.Blueprint("phones", __name__)


@phones.post("/phones/set")
def set_phone() -> flask.Response:
    """Make a number the caller's, releasing the old one; 409 when another agent has it."""
    username = require_agent()
    body = json_body(allowed=("phone",))
    phone = get_phone(body, "phone")
    PhoneNumbers().assign(username, phone)
    return flask.jsonify({"phone": phone})


@phones.post("/phones/discover")
def discover() -> flask.Response:
    """Return which of the given numbers belong to agents, and to whom.

    Each number looked up counts against the caller's daily quota
    (``BATFRIEND_DISCOVER_LIMIT_PER_DAY``), before the look-up: 429 past it.
    """
    username = require_agent()
    body = json_body(allowed=("phones",))
    numbers = get_phone_list(body, "phones", max_items=DISCOVER_MAX_PHONES)
    quota = RateLimiter("discover", config.BATFRIEND_DISCOVER_LIMIT_PER_DAY, DISCOVER_WINDOW)
    quota.hit(username, cost=len(numbers))
    return flask.jsonify({"matches": PhoneNumbers().discover(numbers)})
