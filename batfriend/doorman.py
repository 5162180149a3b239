"""``Doorman``: issues, checks and revokes session tokens.

A token is 32 random bytes from ``secrets`` (256 bits), shown to the client
once. Redis keeps only its SHA-256, so a copy of the database holds no usable
token, and the look-up by digest needs no comparison of secrets.

Failed logins are counted per username (10 per 5 minutes). Once a username
has used them up, every login for it gets 429 until the window ends, the right
password included, so the answer never tells a guesser which password is right.
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline

from batfriend import config
from batfriend.agent import Agent
from batfriend.databases import get_redis
from batfriend.errors import SESSION_GONE, Unauthorized
from batfriend.rate_limiter import RateLimiter
from batfriend.scripts import run_pipeline

SESSION_PREFIX = "session:"
LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = 5 * 60.0

# Whom each session key this process has seen live was issued to. A token never changes
# owner, so this spares only the wait for the name: whether the session is still live is
# read from Redis on every request, in the operation's own round trip (Session.along).
_ISSUED_TO_LIMIT = 10_000
_issued_to: dict[str, str] = {}


class Session:
    """A request's session: the agent its token was issued to, and whether Redis confirmed it."""

    def __init__(self, redis: Redis, key: str, username: str, confirmed: bool) -> None:
        self.username = username
        self._redis = redis
        self._key = key
        self._confirmed = confirmed

    def along(self, client: Redis, read: Callable[[Pipeline], None]) -> list[Any]:
        """Return the replies to the reads ``read`` queues on ``client``, once the session is live.

        Not confirmed yet and sessions on ``client``'s Redis: the session's GET goes in the
        same round trip, and a dead session raises Unauthorized with the replies unused.
        ``read`` must only read: it runs before the answer says whether the session lives.
        """
        if not self._confirmed and client is not self._redis:
            self._confirm(self._redis.get(self._key))
        if self._confirmed:
            return run_pipeline(client, read)

        def queue(pipeline: Pipeline) -> None:
            pipeline.get(self._key)
            read(pipeline)

        live, *replies = run_pipeline(client, queue)
        self._confirm(live)
        return replies

    def guard(self, client: Redis) -> str | None:
        """Return the session key a write's script on ``client`` must find live, checking it
        in the write's own round trip; None when the session is confirmed (checked first when
        sessions live on another Redis)."""
        if not self._confirmed and client is not self._redis:
            self._confirm(self._redis.get(self._key))
        return None if self._confirmed else self._key

    def _confirm(self, live: bytes | None) -> None:
        if live is None or live.decode() != self.username:
            _issued_to.pop(self._key, None)
            raise Unauthorized(SESSION_GONE)
        self._confirmed = True


class Doorman:
    """Lets agents in and out; ``ttl`` is a session's lifetime in seconds."""

    def __init__(self, ttl: float | None = None) -> None:
        self._redis: Redis = get_redis(SESSION_PREFIX)
        self._ttl = config.BATFRIEND_SESSION_SECONDS if ttl is None else ttl
        self._login_failures = RateLimiter("login", LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW)

    def _session_key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{SESSION_PREFIX}{digest}"

    def login(self, username: str, password: str, now: float | None = None) -> tuple[str, float]:
        """Return ``(token, expires_at)``; Unauthorized if wrong, TooManyRequests if locked out."""
        self._login_failures.check(username)
        if not Agent(username).check_password(password):
            self._login_failures.hit(username)
            raise Unauthorized("wrong username or password")
        token = secrets.token_urlsafe(32)
        expires_at = (time.time() if now is None else now) + self._ttl
        self._redis.set(self._session_key(token), username, px=int(self._ttl * 1000))
        return token, expires_at

    def check(self, token: str) -> str:
        """Return the username a live token belongs to (one round trip); else Unauthorized."""
        key = self._session_key(token)
        username = self._redis.get(key)
        if username is None:
            raise Unauthorized(SESSION_GONE)
        if len(_issued_to) >= _ISSUED_TO_LIMIT:
            _issued_to.clear()
        _issued_to[key] = username = username.decode()
        return username

    def session(self, token: str) -> Session:
        """Return the token's session: checked now (one round trip) unless this process knows
        whom the token was issued to; then ``Session.along`` checks it with the operation."""
        key = self._session_key(token)
        username = _issued_to.get(key)
        if username is None:
            return Session(self._redis, key, self.check(token), confirmed=True)
        return Session(self._redis, key, username, confirmed=False)

    def logout(self, token: str) -> None:
        """Revoke a token at once."""
        key = self._session_key(token)
        _issued_to.pop(key, None)
        self._redis.delete(key)
