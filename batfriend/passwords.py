"""Password hashing with scrypt and a per-agent random salt.

Parameters: N=2**14, r=8, p=1, 16-byte salt, 32-byte key (about 16 MiB and
tens of milliseconds per hash). They are stored in each hash string, so they
can be raised later without breaking old passwords.

Hashing is bounded per process (``HashingSlots``): one hash per CPU core the
process may use, a short queue (each caller waiting at most 2 s), and a caller
beyond that gets 503 at once, so a flood of logins cannot take every core from
the rest. Under uWSGI, hashing and its queue hold at most half of a worker's
threads, so the other half stays free for everything else.
"""

import base64
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from batfriend.errors import Unavailable

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


# How long a hash may wait for a slot before the caller gets 503.
HASH_WAIT_SECONDS = 2.0
# Callers that may wait for a slot, per slot, where request threads are not counted.
HASH_QUEUE_PER_SLOT = 4


def _process_shape() -> tuple[int, int | None]:
    """Return ``(processes, threads per process)`` under uWSGI; ``(1, None)`` elsewhere."""
    try:
        import uwsgi  # only importable inside uWSGI
    except ImportError:
        return 1, None
    return max(1, uwsgi.numproc), max(1, int(uwsgi.opt.get("threads") or 1))


def _default_slots() -> "HashingSlots":
    """Return this process's share of the cores as slots; under uWSGI, half its threads at most."""
    processes, threads = _process_shape()
    slots = max(1, (os.cpu_count() or 1) // processes)
    if threads is None:
        return HashingSlots(slots)
    return HashingSlots(min(slots, max(1, threads // 2)), queue=max(0, threads // 2 - slots))


class HashingSlots:
    """At most ``slots`` hashes at once in this process, a short queue, and 503 beyond it."""

    def __init__(
        self, slots: int, queue: int | None = None, wait: float = HASH_WAIT_SECONDS
    ) -> None:
        waiting = HASH_QUEUE_PER_SLOT * slots if queue is None else queue
        self._running = threading.BoundedSemaphore(slots)
        self._admitted = threading.BoundedSemaphore(slots + waiting)
        self._wait = wait

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a hashing slot for the block; raise Unavailable (retry in 1 s) when too busy."""
        if not self._admitted.acquire(blocking=False):
            raise self._busy()
        try:
            if not self._running.acquire(timeout=self._wait):
                raise self._busy()
            try:
                yield
            finally:
                self._running.release()
        finally:
            self._admitted.release()

    @staticmethod
    def _busy() -> Unavailable:
        return Unavailable("the server is busy checking passwords; try again", retry_after=1)


HASHING = _default_slots()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with HASHING.slot():
        return hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=2**26
        )


def hash_password(password: str) -> str:
    """Return ``scrypt$N$r$p$salt$key`` (base64 parts) for storing."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, key)]
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), *encoded])


# Verified against when the username is unknown, so both failures cost one scrypt.
_DECOY_HASH = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """Return whether ``password`` matches ``stored``; None spends the same time and fails."""
    scheme, n, r, p, salt, key = (stored or _DECOY_HASH).split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, base64.b64decode(key)) and stored is not None
