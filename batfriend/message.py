"""``Message``: one message, direct or in a lobby, with ids that sort by time.

An id is ``<ms>-<seq>-<node>`` in fixed widths: string order is time order, ids
made in one millisecond stay distinct and ordered, processes never collide.
``sent_at`` is exactly that millisecond, so ordering by id and by ``(sent_at,
id)`` agree, in Redis and in SQL.
"""

import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import msgpack
import orjson

MESSAGE_ID = re.compile(r"[0-9]{13}-[0-9a-f]{12}-[0-9a-f]{10}")
MAX_BODY_LENGTH = 4000

_id_lock = threading.Lock()
_id_state = {"node": secrets.token_hex(5), "seq": 0}


def _new_node_after_fork() -> None:
    """Give a forked child its own node, so parent and child never make the same id."""
    global _id_lock
    _id_lock = threading.Lock()
    _id_state.update(node=secrets.token_hex(5), seq=0)


os.register_at_fork(after_in_child=_new_node_after_fork)


def new_message_id(now: float) -> str:
    """Return a fresh id for a message sent at ``now``: unique, and later ids sort later."""
    millisecond = round(now * 1000)
    if not 0 <= millisecond < 10**13:
        raise ValueError(f"cannot make a message id for time {now!r}")
    with _id_lock:
        _id_state["seq"] += 1
        sequence = _id_state["seq"]
        node = _id_state["node"]
    return f"{millisecond:013d}-{sequence:012x}-{node}"


def message_millisecond(message_id: str | bytes) -> int:
    """Return the millisecond (since the epoch) a message was sent, as written in its id."""
    return int(message_id[:13])


def message_time(message_id: str) -> float:
    """Return the send time (epoch seconds, millisecond precision) written in an id."""
    return message_millisecond(message_id) / 1000


_NAME_TYPES = {str, type(None)}
_TIME_TYPES = {int, float}
_READ_TYPES = {bool, type(None)}


@dataclass(frozen=True, slots=True)
class Message:
    """One message: to an agent (``to``) or in a lobby (``lobby``); ``read`` is None in lobbies."""

    id: str
    sender: str | None
    to: str | None
    lobby: str | None
    body: str
    sent_at: float
    deliver_at: float
    read: bool | None

    @classmethod
    def compose(
        cls,
        sender: str | None,
        body: str,
        now: float,
        to: str | None = None,
        lobby: str | None = None,
        deliver_at: float | None = None,
    ) -> "Message":
        """Make a new message sent at ``now``; a past or absent ``deliver_at`` means at once.

        So a message waits for its delivery exactly when its ``deliver_at`` is after ``sent_at``.
        """
        if (to is None) == (lobby is None):
            raise ValueError("a message goes either to an agent or to a lobby")
        message_id = new_message_id(now)
        sent_at = message_time(message_id)
        due = sent_at if deliver_at is None or deliver_at <= sent_at else deliver_at
        return cls(message_id, sender, to, lobby, body, sent_at, due, None if lobby else False)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (the API's shape)."""
        return {
            "id": self.id,
            "sender": self.sender,
            "to": self.to,
            "lobby": self.lobby,
            "body": self.body,
            "sent_at": self.sent_at,
            "deliver_at": self.deliver_at,
            "read": self.read,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Message":
        """Build from a plain dict, checking each field's type (cheaply: pages load many)."""
        message_id, sender, to, lobby = data["id"], data["sender"], data["to"], data["lobby"]
        body, sent_at, deliver_at, read = (
            data["body"],
            data["sent_at"],
            data["deliver_at"],
            data["read"],
        )
        if type(message_id) is not str or not MESSAGE_ID.fullmatch(message_id):
            raise TypeError("Message needs an id made by new_message_id")
        if type(body) is not str or not (
            type(sender) in _NAME_TYPES and type(to) in _NAME_TYPES and type(lobby) in _NAME_TYPES
        ):
            raise TypeError("Message needs a str body, and str or None sender, to and lobby")
        if type(sent_at) not in _TIME_TYPES or type(deliver_at) not in _TIME_TYPES:
            raise TypeError("Message needs numeric sent_at and deliver_at")
        if type(read) not in _READ_TYPES:
            raise TypeError("Message needs read to be a bool or None")
        return cls(message_id, sender, to, lobby, body, float(sent_at), float(deliver_at), read)

    def dump_json(self) -> str:
        """Serialise as a JSON object (the API's shape)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def load_json(cls, text: str) -> "Message":
        """Parse what ``dump_json`` wrote."""
        return cls.from_dict(json.loads(text))

    def dump_msgpack(self) -> bytes:
        """Serialise as msgpack, the form Redis stored before ``dump_stored``."""
        return msgpack.packb(self.to_dict())

    @classmethod
    def load_msgpack(cls, data: bytes) -> "Message":
        """Parse what ``dump_msgpack`` wrote."""
        return cls.from_dict(msgpack.unpackb(data))

    def dump_stored(self) -> bytes:
        """Serialise as stored in Redis: the API's JSON object, ``read`` last, so a page
        is framed from the stored bytes with no decoding (``page_json``)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def load_stored(cls, data: bytes) -> "Message":
        """Parse a stored message: what ``dump_stored`` wrote, or older ``dump_msgpack``."""
        return cls.from_dict(stored_dict(data))


def stored_dict(data: bytes) -> dict[str, Any]:
    """Return a stored message's fields: JSON (``dump_stored``), or msgpack stored before it.

    A msgpack map of 8 fields starts with byte 0x88, never ``{``.
    """
    return orjson.loads(data) if data[:1] == b"{" else msgpack.unpackb(data)


def newest_first_bound(before: str | None) -> str:
    """Return the ZREVRANGEBYLEX upper bound for a page that starts after cursor ``before``."""
    return "+" if before is None else f"({before}"


def load_page(blobs: list[bytes | None], unread: list[int] | None = None) -> list[Message]:
    """Parse a page's stored messages, skipping any whose body is gone (archived meanwhile).

    ``unread`` (one flag per blob, as SMISMEMBER answers) sets each message's ``read``.
    """
    messages = []
    for n, blob in enumerate(blobs):
        if blob is not None:
            data = stored_dict(blob)
            if unread is not None:
                data["read"] = not unread[n]
            messages.append(Message.from_dict(data))
    return messages


_UNREAD_TAIL = b',"read":false}'
_READ_TAIL = b',"read":true}'


def page_json(blobs: list[bytes | None], unread: list[int]) -> bytes:
    """A page's stored messages as the API's JSON array, skipping any whose body is gone.

    A message ``dump_stored`` wrote is its stored bytes with the reader's ``read`` spliced
    in; one stored as msgpack (before) is decoded and written as JSON.
    """
    page = []
    cut = -len(_UNREAD_TAIL)
    for blob, flag in zip(blobs, unread, strict=True):
        if blob is None:
            continue
        if blob[cut:] == _UNREAD_TAIL and blob[:1] == b"{":  # JSON, read not set yet
            page.append(blob if flag else blob[:cut] + _READ_TAIL)
        else:
            data = stored_dict(blob)
            data["read"] = not flag
            page.append(orjson.dumps(data))
    return b"[%b]" % b",".join(page)
