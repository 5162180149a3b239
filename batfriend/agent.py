"""``Agent``: one account (profile and password hash), and its ``AgentSnapshot``."""

import json
import time
from dataclasses import dataclass
from typing import Any

import msgpack
from redis import Redis

from batfriend.databases import get_redis
from batfriend.errors import Conflict, NotFound
from batfriend.keys import AgentKeys, bucket_of
from batfriend.passwords import hash_password, verify_password
from batfriend.scripts import get_script
from batfriend.session import Session, read_along


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    """What anyone may see of an agent."""

    username: str
    display_name: str
    created_at: float

    def dump_json(self) -> str:
        """Serialise as a JSON object (the API's shape)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def load_json(cls, text: str) -> "AgentSnapshot":
        """Parse what ``dump_json`` wrote."""
        return cls.from_dict(json.loads(text))

    def dump_msgpack(self) -> bytes:
        """Serialise as msgpack."""
        return msgpack.packb(self.to_dict())

    @classmethod
    def load_msgpack(cls, data: bytes) -> "AgentSnapshot":
        """Parse what ``dump_msgpack`` wrote."""
        return cls.from_dict(msgpack.unpackb(data))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AgentSnapshot":
        """Build from a plain dict, checking each field's type."""
        username, display_name, created_at = (
            data["username"],
            data["display_name"],
            data["created_at"],
        )
        if not (type(username) is str and type(display_name) is str):
            raise TypeError("AgentSnapshot needs str username and display_name")
        if type(created_at) not in (int, float):
            raise TypeError("AgentSnapshot needs a numeric created_at")
        return cls(username, display_name, float(created_at))


def snapshot_from_fields(fields: list[bytes | None]) -> AgentSnapshot | None:
    """Build a snapshot from ``HMGET username display_name created_at``; None if absent."""
    username, display_name, created_at = fields
    if username is None or display_name is None or created_at is None:
        return None
    return AgentSnapshot(username.decode(), display_name.decode(), float(created_at))


SNAPSHOT_FIELDS = ("username", "display_name", "created_at")


class Agent:
    """One account, stored as the hash ``AgentKeys.agent(username)``."""

    def __init__(self, username: str) -> None:
        if type(username) is not str:
            raise TypeError("username must be a str")
        self._redis: Redis = get_redis(AgentKeys.PREFIX)
        self._username = username
        self._register = get_script(self._redis, "agent_register")

    def register(
        self, password: str, display_name: str | None = None, now: float | None = None
    ) -> AgentSnapshot:
        """Create the account; raise Conflict when the username is taken."""
        created_at = time.time() if now is None else now
        shown = display_name or self._username
        created = self._register(
            keys=[AgentKeys.agent(self._username), AgentKeys.index(bucket_of(self._username))],
            args=[self._username, shown, hash_password(password), repr(created_at)],
        )
        if not created:
            raise Conflict(f"username {self._username!r} is taken; choose another")
        return AgentSnapshot(self._username, shown, created_at)

    def check_password(self, password: str) -> bool:
        """Return whether ``password`` is this agent's; unknown agents cost the same time."""
        stored = self._redis.hget(AgentKeys.agent(self._username), "password")
        return verify_password(password, stored.decode() if stored is not None else None)

    def view(self, session: Session | None = None) -> AgentSnapshot:
        """Return the agent's public snapshot; raise NotFound if there is no such agent.

        With ``session``, its check shares the read's round trip (``Session.along``).
        """
        key = AgentKeys.agent(self._username)
        (fields,) = read_along(session, self._redis, lambda p: p.hmget(key, SNAPSHOT_FIELDS))
        snapshot = snapshot_from_fields(fields)
        if snapshot is None:
            raise NotFound(f"no agent named {self._username!r}")
        return snapshot
