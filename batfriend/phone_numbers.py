"""``PhoneNumbers``: who owns which phone number, and contact discovery in one round trip.

Two hashes in one key family: ``phone:owners`` maps a number to its agent (the
index discovery reads with a single HMGET) and ``phone:agents`` maps an agent
back to its number, so setting a new number can release the old one. Changes
go through ``transact()``: a redis-py lock around a ``PhoneNumberContext``,
which loads many numbers in one HMGET and writes both hashes in one MULTI/EXEC.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from redis import Redis
from redis.client import Pipeline

from batfriend.databases import get_redis
from batfriend.errors import Conflict, Unavailable
from batfriend.keys import PhoneKeys
from batfriend.rate_limiter import SlidingQuota
from batfriend.session import Session, read_along

PHONE_NAME = "phone"


class PhoneNumberContext:
    """A batch of phone numbers and their owners: load many at once, buffer changes, write once.

    It does not lock anything; ``PhoneNumbers.transact()`` wraps it in a lock.
    """

    def __init__(self, name: str, read_only: bool = False) -> None:
        if type(name) is not str or not name:
            raise TypeError("a PhoneNumberContext needs a non-empty str name")
        self._redis: Redis = get_redis(f"{name}:")
        self._name = name
        self._read_only = read_only
        self._data: dict[str, str | None] = {}  # owner, buffered changes included
        self._stored: dict[str, str | None] = {}  # owner in Redis, of the numbers updated

    def __enter__(self) -> "PhoneNumberContext":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # A block that raised commits nothing: its changes may be half made.
        if exc_type is None and not self._read_only:
            self.commit()

    def _check_writable(self, verb: str) -> None:
        if self._read_only:
            raise RuntimeError(
                f"cannot {verb}: this PhoneNumberContext is read-only (from PhoneNumbers.view());"
                " use PhoneNumbers.transact() to change numbers"
            )

    def preload(self, ids: list[str]) -> None:
        """Fetch the owners of every number in ``ids`` not loaded yet, in one HMGET."""
        if type(ids) is not list or not set(map(type, ids)) <= {str}:
            raise TypeError("preload needs a list of str phone numbers")
        new_ids = [i for i in dict.fromkeys(ids) if i not in self._data]
        if not new_ids:
            return
        values = self._redis.hmget(PhoneKeys.owners(self._name), new_ids)
        owners = [v if v is None else v.decode() for v in values]
        self._data.update(zip(new_ids, owners, strict=True))

    def owner(self, phone: str) -> str | None:
        """Return the username that owns ``phone``, or None (loads it if not preloaded)."""
        self.preload([phone])
        return self._data[phone]

    def owners(self, phones: list[str]) -> dict[str, str]:
        """Return ``{phone: username}`` for the numbers in ``phones`` that have an owner."""
        self.preload(phones)
        return {p: owner for p in phones if (owner := self._data[p]) is not None}

    def number_of(self, username: str) -> str | None:
        """Return the number ``username`` owns, or None."""
        number = self._redis.hget(PhoneKeys.agents(self._name), username)
        return None if number is None else number.decode()

    def update(self, owners: dict[str, str | None]) -> None:
        """Buffer new owners (None releases a number); nothing is written until ``commit``.

        The caller keeps the rule of one number per agent; the context writes what it is told.
        """
        self._check_writable("update")
        self.preload(list(owners))
        for phone, owner in owners.items():
            if owner is not None and type(owner) is not str:
                raise TypeError(f"the owner of {phone} must be a str username or None")
            self._stored.setdefault(phone, self._data[phone])
            self._data[phone] = owner

    def commit(self) -> None:
        """Write the buffered changes to both hashes in one MULTI/EXEC (nothing when none)."""
        self._check_writable("commit")
        changed = {p: self._data[p] for p, owner in self._stored.items() if self._data[p] != owner}
        if not changed:
            self._stored.clear()
            return
        assigned = {p: owner for p, owner in changed.items() if owner is not None}
        freed = [p for p, owner in changed.items() if owner is None]
        numbers_of = {owner: p for p, owner in assigned.items()}
        released = {self._stored[p] for p in changed} - {None} - numbers_of.keys()
        pipe = self._redis.pipeline(transaction=True)
        if assigned:
            pipe.hset(PhoneKeys.owners(self._name), mapping=assigned)
            pipe.hset(PhoneKeys.agents(self._name), mapping=numbers_of)
        if freed:
            pipe.hdel(PhoneKeys.owners(self._name), *freed)
        if released:
            pipe.hdel(PhoneKeys.agents(self._name), *released)
        pipe.execute()
        self._stored.clear()


class PhoneNumbers:
    """Every agent's phone number: one number belongs to at most one agent.

    ``lock_timeout`` bounds how long a crashed holder can block the book;
    ``lock_wait`` how long a caller waits for it before getting Unavailable.
    """

    def __init__(
        self, name: str = PHONE_NAME, lock_timeout: float = 10.0, lock_wait: float = 2.0
    ) -> None:
        self._redis: Redis = get_redis(f"{name}:")
        self._name = name
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait

    @contextmanager
    def transact(self) -> Iterator[PhoneNumberContext]:
        """Yield a writable context while holding the book's lock; commit when the block ends."""
        lock = self._redis.lock(
            PhoneKeys.lock(self._name),
            timeout=self._lock_timeout,
            blocking_timeout=self._lock_wait,
            sleep=0.01,
            # Past its timeout the lock is gone and the commit already made: log, not raise.
            raise_on_release_error=False,
        )
        if not lock.acquire():
            raise Unavailable(
                f"the phone book is busy (lock {PhoneKeys.lock(self._name)!r} held for over"
                f" {self._lock_wait:g} s); try again in a moment"
            )
        try:
            with PhoneNumberContext(self._name) as numbers:
                yield numbers
        finally:
            lock.release()

    def view(self) -> PhoneNumberContext:
        """Return a read-only context for look-ups; its ``update`` and ``commit`` raise."""
        return PhoneNumberContext(self._name, read_only=True)

    def assign(self, username: str, phone: str) -> None:
        """Give ``phone`` to ``username`` and release its old number; Conflict if it is taken."""
        with self.transact() as numbers:
            old = numbers.number_of(username)
            numbers.preload([phone] if old is None else [phone, old])
            owner = numbers.owner(phone)
            if owner is not None and owner != username:
                raise Conflict(
                    f"phone number {phone} belongs to another agent; set a different one"
                )
            changes: dict[str, str | None] = {phone: username}
            if old is not None and old != phone and numbers.owner(old) == username:
                changes[old] = None
            numbers.update(changes)

    def discover(
        self,
        phones: list[str],
        session: Session | None = None,
        quota: tuple[SlidingQuota, str] | None = None,
    ) -> dict[str, str]:
        """Return ``{phone: username}`` for the numbers in ``phones`` agents own, in one HMGET.

        With ``session``, its check shares the HMGET's round trip (``Session.along``).
        With ``quota`` (a quota and whose it is), each number given is counted first, and
        none is looked up past it (TooManyRequests): in the same round trip, queued before
        the HMGET, when both live on one Redis, else in a round trip of its own before.
        """
        if type(phones) is not list or not set(map(type, phones)) <= {str}:
            raise TypeError("discover needs a list of str phone numbers")
        cost = len(phones)  # a number given twice is looked up twice, as counted
        counter, subject = quota if quota is not None else (None, "")
        if counter is not None and counter.client is not self._redis:
            counter.hit(subject, cost=cost)
            counter = None

        def read(pipeline: Pipeline) -> None:
            if counter is not None:
                counter.queue_hit(pipeline, subject, cost=cost)
            if phones:
                pipeline.hmget(PhoneKeys.owners(self._name), phones)

        replies = read_along(session, self._redis, read)
        if counter is not None:
            counter.refuse_over(replies.pop(0))
        owners = (replies or [[]])[0]
        return {p: o.decode() for p, o in zip(phones, owners, strict=True) if o is not None}
