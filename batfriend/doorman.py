"""``Doorman``: issues, checks and revokes session tokens.

Redis keeps only a token's SHA-256, so a copy of the database holds no usable
token. A username that used up its failed logins gets 429 for every login until
the window ends, the right password included, so the answer tells a guesser nothing.
Each attempt is counted *before* its password is hashed and given back only when the
password was right or never checked, so bursts check at most the limit of wrong ones.
"""

import functools
import hashlib
import secrets
import time

from redis import Redis

from batfriend import config
from batfriend.agent import Agent
from batfriend.databases import get_redis
from batfriend.errors import SESSION_GONE, Unauthorized
from batfriend.keys import SessionKeys
from batfriend.rate_limiter import RateLimiter
from batfriend.session import Session, forget, remember, remembered

LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = 5 * 60.0


class Doorman:
    """Lets agents in and out; ``ttl`` is a session's lifetime in seconds."""

    def __init__(self, ttl: float | None = None) -> None:
        self._redis: Redis = get_redis(SessionKeys.PREFIX)
        self._ttl = config.BATFRIEND_SESSION_SECONDS if ttl is None else ttl

    @functools.cached_property
    def _login_failures(self) -> RateLimiter:
        """The failed-login limiter, built on first use: most requests only check a session."""
        return RateLimiter("login", LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW)

    def _session_key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        return SessionKeys.session(digest)

    def login(self, username: str, password: str, now: float | None = None) -> tuple[str, float]:
        """Return ``(token, expires_at)``; Unauthorized if wrong, TooManyRequests if locked out."""
        self._login_failures.hit(username)
        try:
            right = Agent(username).check_password(password)
        except BaseException:
            self._login_failures.release(username)
            raise
        if not right:
            raise Unauthorized("wrong username or password")
        self._login_failures.release(username)
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
        return remember(key, username.decode())

    def session(self, token: str) -> Session:
        """Return the token's session: checked now (one round trip) unless this process knows
        whom the token was issued to; then ``Session.along`` checks it with the operation."""
        key = self._session_key(token)
        username = remembered(key)
        if username is None:
            return Session(self._redis, key, self.check(token), confirmed=True)
        return Session(self._redis, key, username, confirmed=False)

    def logout(self, token: str) -> None:
        """Revoke a token at once."""
        key = self._session_key(token)
        forget(key)
        self._redis.delete(key)
