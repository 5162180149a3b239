"""Messages: send (now or later), reschedule, read the inbox page by page, mark read."""

import time
from typing import Any

import flask
import orjson

from batfriend.api.auth import agent_session, require_agent
from batfriend.api.validation import (
    get_page,
    get_str,
    get_str_list,
    get_time,
    get_username,
    json_body,
)
from batfriend.errors import BadRequest
from batfriend.message import MAX_BODY_LENGTH, MESSAGE_ID
from batfriend.messages import Messages
from batfriend.scheduled import ScheduledMessages

messages = flask.Blueprint("messages", __name__)

MAX_READ_IDS = 1000
# How far ahead a message may be scheduled: nothing waits in Redis for ever.
MAX_SCHEDULE_AHEAD = 365 * 24 * 3600.0


def get_deliver_at(body: dict[str, Any], *, required: bool) -> float | None:
    """Return the ``deliver_at`` field: epoch seconds at most 365 days from now."""
    deliver_at = get_time(body, "deliver_at", required=required)
    if deliver_at is not None and deliver_at > time.time() + MAX_SCHEDULE_AHEAD:
        raise BadRequest("deliver_at must be at most 365 days from now", field="deliver_at")
    return deliver_at


@messages.post("/messages/send")
def send() -> tuple[flask.Response, int]:
    """Send a message to a friend."""
    session = agent_session()
    body = json_body(allowed=("to", "body", "deliver_at"))
    to = get_username(body, "to")
    text = get_str(body, "body", max_length=MAX_BODY_LENGTH)
    deliver_at = get_deliver_at(body, required=False)
    message = Messages(to).send(session.username, text, deliver_at, session=session)
    return flask.jsonify(
        {"id": message.id, "sent_at": message.sent_at, "deliver_at": message.deliver_at}
    ), 201


@messages.post("/messages/reschedule")
def reschedule() -> flask.Response:
    """Deliver a message the caller scheduled earlier or later, while it still waits."""
    me = require_agent()
    body = json_body(allowed=("id", "deliver_at"))
    message_id = get_str(body, "id", max_length=64, pattern=MESSAGE_ID)
    deliver_at = get_deliver_at(body, required=True)
    message = ScheduledMessages().reschedule(me, message_id, deliver_at)
    return flask.jsonify({"id": message.id, "deliver_at": message.deliver_at})


@messages.post("/messages/inbox")
def inbox() -> flask.Response:
    """Show the caller's inbox, newest first, one page at a time."""
    session = agent_session()
    body = json_body(allowed=("before", "limit"))
    before, limit = get_page(body)
    page, next_before, unread = Messages(session.username).page_json(before, limit, session)
    # jsonify's JSON, framed around the page's ready JSON array
    framed = b'{"messages":%b,"unread":%d,"next_before":%b}\n' % (
        page,
        unread,
        orjson.dumps(next_before),
    )
    return flask.Response(framed, mimetype="application/json")


@messages.post("/messages/read")
def read() -> flask.Response:
    """Mark messages of the caller's inbox read."""
    me = require_agent()
    body = json_body(allowed=("ids",))
    # No pattern: an id that is not in the inbox, whatever its form, is ignored.
    ids = get_str_list(body, "ids", max_items=MAX_READ_IDS, max_length=64)
    return flask.jsonify({"unread": Messages(me).mark_read(ids)})
