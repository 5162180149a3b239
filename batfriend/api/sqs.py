"""``POST /sqs``: the Elastic Beanstalk worker daemon's (sqsd) endpoint, on the worker tier only.

sqsd POSTs each SQS message with ``X-Aws-Sqsd-Msgid``; periodic tasks from
``cron.yaml`` also carry ``X-Aws-Sqsd-Taskname`` (and ``X-Aws-Sqsd-Scheduled-At``)
and the body ``elasticbeanstalk scheduled job``, which is ignored. 200 tells
sqsd to delete the message; any other status makes it retry later, then move
the message to the dead-letter queue. Each message id takes effect once
(``SqsLedger``); malformed requests get 400 before anything runs.

sqsd posts from the instance itself through the local proxy, so a request from
anywhere else (a peer, ``X-Real-IP`` or last ``X-Forwarded-For`` hop that is not
loopback) is refused with 403 before the ledger or anything else touches Redis.
"""

import re
from collections.abc import Callable
from typing import Any

import flask

from batfriend import config, passes
from batfriend.api.client import from_this_machine
from batfriend.api.validation import get_str, get_username, json_body
from batfriend.errors import BadRequest, Forbidden
from batfriend.message import MAX_BODY_LENGTH
from batfriend.messages import Messages
from batfriend.sqs_ledger import Effect, SqsLedger

MSGID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
TASK_NAME = re.compile(r"[^\x00-\x1f]{1,128}")

sqs = flask.Blueprint("sqs", __name__)


def _deliver(msgid: str) -> None:
    """Work through due worklist items (idempotent: only what is still due is taken)."""
    passes.Delivery().run(config.BATFRIEND_SQS_PASS_SECONDS)


def _sweep(msgid: str) -> None:
    """Take one step of the SCAN sweep (idempotent: repairers only repair)."""
    passes.sweep()


def _archive(msgid: str) -> None:
    """Move old messages to SQL (idempotent: inserted if absent by id, then removed from Redis)."""
    passes.archive(config.BATFRIEND_SQS_PASS_SECONDS)


# X-Aws-Sqsd-Taskname (a cron.yaml task) -> what it runs.
TASKS: dict[str, Effect] = {
    "deliver": _deliver,
    "sweep": _sweep,
    "archive": _archive,
}


def _system_message(body: dict[str, Any]) -> Effect:
    """Check a system message's fields; its effect delivers it once per SQS message id."""
    to = get_username(body, "to")
    text = get_str(body, "body", max_length=MAX_BODY_LENGTH)
    return lambda msgid: Messages(to).deliver_system(text, msgid)


# Body "type" -> (the fields that type allows, a function that checks them and returns the effect).
BODY_TYPES: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], Effect]]] = {
    "tick": (("type",), lambda body: _deliver),
    "system_message": (("type", "to", "body"), _system_message),
}


def _header(name: str, pattern: re.Pattern[str]) -> str | None:
    """Return an sqsd header's value after checking its shape; None when it is absent."""
    value = flask.request.headers.get(name)
    if value is not None and not pattern.fullmatch(value):
        raise BadRequest(f"header {name} must match {pattern.pattern}", field=name)
    return value


def _task_effect(task: str) -> Effect:
    """Return the effect of a periodic task; 400 for a name cron.yaml should not have."""
    effect = TASKS.get(task)
    if effect is None:
        raise BadRequest(
            f"unknown task {task!r}; known: {', '.join(TASKS)}", field="X-Aws-Sqsd-Taskname"
        )
    return effect


def _body_effect() -> Effect:
    """Return the effect of a JSON message body, checking its type and that type's fields."""
    body = json_body(allowed={field for fields, _ in BODY_TYPES.values() for field in fields})
    kind = get_str(body, "type", max_length=64)
    if kind not in BODY_TYPES:
        raise BadRequest(f"unknown type {kind!r}; known: {', '.join(BODY_TYPES)}", field="type")
    fields, build = BODY_TYPES[kind]
    extra = sorted(set(body) - set(fields))
    if extra:
        raise BadRequest(f"field {extra[0]!r} is not allowed with type {kind!r}", field=extra[0])
    return build(body)


@sqs.before_request
def _only_from_this_machine() -> None:
    """Refuse a caller outside the instance: only sqsd, through the local proxy, may post."""
    if not from_this_machine():
        raise Forbidden("/sqs takes messages only from the worker daemon on this instance")


@sqs.post("/sqs")
def receive_sqs() -> flask.Response:
    """Run one message from sqsd, once per message id; 200 tells sqsd to delete it."""
    msgid = _header("X-Aws-Sqsd-Msgid", MSGID)
    if msgid is None:
        raise BadRequest("header X-Aws-Sqsd-Msgid is required", field="X-Aws-Sqsd-Msgid")
    task = _header("X-Aws-Sqsd-Taskname", TASK_NAME)
    effect = _task_effect(task) if task is not None else _body_effect()
    ran = SqsLedger().run_once(msgid, effect)
    return flask.jsonify({"msgid": msgid, "ran": ran})
