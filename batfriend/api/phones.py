"""Phones and contact discovery: set your number, find which contacts are agents."""

import flask

from batfriend import config
from batfriend.api.auth import agent_session, require_agent
from batfriend.api.validation import get_phone, get_phone_list, json_body
from batfriend.phone_numbers import PhoneNumbers
from batfriend.rate_limiter import SlidingQuota

DISCOVER_MAX_PHONES = 1000
DISCOVER_WINDOW = 24 * 3600.0
DISCOVER_BUCKET = 3600.0

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

    Each number looked up counts against the caller's quota for any 24 hours
    (``BATFRIEND_DISCOVER_LIMIT_PER_DAY``, in hourly buckets), before the look-up: 429 past it.
    """
    session = agent_session()
    body = json_body(allowed=("phones",))
    numbers = get_phone_list(body, "phones", max_items=DISCOVER_MAX_PHONES)
    quota = SlidingQuota(
        "discover", config.BATFRIEND_DISCOVER_LIMIT_PER_DAY, DISCOVER_WINDOW, DISCOVER_BUCKET
    )
    matches = PhoneNumbers().discover(numbers, session, quota=(quota, session.username))
    return flask.jsonify({"matches": matches})
