"""Environment variables, loaded once into module globals.

Every variable is read here and nowhere else. A malformed value stops the
process at import time with a message that names the variable, so a bad
deployment fails at start-up instead of on the first request.
"""

import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from batfriend.keys import SHARED_SLOTS
from batfriend.redaction import redact_url

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class ConfigError(Exception):
    """An environment variable holds a value batfriend cannot use."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        shown = redact_url(value)
        super().__init__(f"environment variable {name}={shown!r} is malformed: expected {expected}")
        self.name = name


def _text(name: str, default: str | None = None) -> str | None:
    """Return the variable's value, or the default when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def _port(name: str, default: int) -> int:
    """Return a TCP port number (1-65535)."""
    value = _text(name)
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ConfigError(name, value, "a port number from 1 to 65535")
    return int(value)


def _seconds(name: str, default: float) -> float:
    """Return a positive number of seconds."""
    value = _text(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(name, value, "a positive number of seconds") from None
    if not 0 < seconds < float("inf"):
        raise ConfigError(name, value, "a positive number of seconds")
    return seconds


def _count(name: str, default: int, minimum: int = 1) -> int:
    """Return a whole number no smaller than ``minimum``."""
    value = _text(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ConfigError(name, value, f"a whole number of at least {minimum}")
    return int(value)


def _flag(name: str) -> bool:
    """Return a boolean flag: 1/true/yes or 0/false/no (unset means off)."""
    value = (_text(name) or "0").lower()
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(name, value, "1 or 0")
    return value in ("1", "true", "yes")


def longest_prefix(name: str, prefixes: Iterable[str]) -> str | None:
    """Return the longest of ``prefixes`` that ``name`` starts with, or None."""
    matches = [prefix for prefix in prefixes if name.startswith(prefix)]
    return max(matches, key=len) if matches else None


def is_cluster_url(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://``, ``rediss+cluster://``)."""
    return url.startswith(CLUSTER_SCHEMES)


def _redis_url(name: str, value: str | None) -> str | None:
    """Return a Redis URL after checking its scheme (and, for a cluster, its database)."""
    if value is None:
        return value
    if not value.startswith(_REDIS_SCHEMES):
        raise ConfigError(
            name, value, "a redis://, rediss://, unix://, redis+cluster:// or rediss+cluster:// URL"
        )
    if is_cluster_url(value) and urlsplit(value).path.strip("/") not in ("", "0"):
        raise ConfigError(name, value, "database 0 (a Redis Cluster has no other)")
    return value


def split_group(shards: dict[str, str], groups: Iterable[Iterable[str]]) -> tuple[str, ...] | None:
    """Return the first group of families that ``shards`` sends to more than one Redis, or None.

    A family goes to its longest matching shard prefix, else to ``REDIS_URL`` (None here).
    """
    for group in groups:
        group = tuple(group)
        targets = {shards.get(longest_prefix(family, shards) or "") for family in group}
        if len(targets) > 1:
            return group
    return None


def _shards(name: str) -> dict[str, str]:
    """Parse the shard map: comma-separated ``prefix=redis-url`` pairs."""
    value = _text(name)
    shards: dict[str, str] = {}
    if value is None:
        return shards
    for entry in value.split(","):
        prefix, sep, url = entry.strip().partition("=")
        if not sep or not prefix or prefix in shards:
            raise ConfigError(
                name, value, "comma-separated prefix=redis-url pairs, each prefix once"
            )
        shards[prefix] = _redis_url(name, url.strip()) or ""
        if not shards[prefix]:
            raise ConfigError(name, value, "a Redis URL after every prefix=")
    split = split_group(shards, SHARED_SLOTS)
    if split:
        raise ConfigError(name, value, f"{' and '.join(split)} on one Redis (scripts use both)")
    return shards


def _log_level(name: str) -> str:
    """Return a logging level name."""
    value = (_text(name) or "INFO").upper()
    if value not in _LOG_LEVELS:
        raise ConfigError(name, value, "one of " + ", ".join(_LOG_LEVELS))
    return value


def _database_url(name: str, value: str | None) -> str | None:
    """Return an SQLAlchemy URL after a shape check (scheme://...)."""
    if value is not None and not re.match(r"^[a-z][a-z0-9+]*://", value):
        raise ConfigError(name, value, "an SQLAlchemy URL such as mysql+pymysql://user:pw@host/db")
    return value


REDIS_URL: str | None = _redis_url("REDIS_URL", _text("REDIS_URL"))
BATFRIEND_REDIS_SHARDS: dict[str, str] = _shards("BATFRIEND_REDIS_SHARDS")
BATFRIEND_REDIS_TIMEOUT: float = _seconds("BATFRIEND_REDIS_TIMEOUT", 1.0)
DATABASE_URL: str | None = _database_url("DATABASE_URL", _text("DATABASE_URL"))
BATFRIEND_SQL_TIMEOUT: float = _seconds("BATFRIEND_SQL_TIMEOUT", 5.0)
BATFRIEND_DATA_DIR: str = os.path.abspath(_text("BATFRIEND_DATA_DIR", "var") or "var")
PORT: int = _port("PORT", 8087)
BATFRIEND_SESSION_SECONDS: float = _seconds("BATFRIEND_SESSION_SECONDS", 7 * 24 * 3600.0)
BATFRIEND_SEND_LIMIT_PER_MINUTE: int = _count("BATFRIEND_SEND_LIMIT_PER_MINUTE", 60)
BATFRIEND_ADDRESS_LIMIT_PER_MINUTE: int = _count("BATFRIEND_ADDRESS_LIMIT_PER_MINUTE", 60)
BATFRIEND_DISCOVER_LIMIT_PER_DAY: int = _count("BATFRIEND_DISCOVER_LIMIT_PER_DAY", 10000)
BATFRIEND_EXPOSE_SQS: bool = _flag("BATFRIEND_EXPOSE_SQS")
BATFRIEND_SQS_PASS_SECONDS: float = _seconds("BATFRIEND_SQS_PASS_SECONDS", 20.0)
BATFRIEND_WATCHER_TICK: float = _seconds("BATFRIEND_WATCHER_TICK", 1.0)
BATFRIEND_WORKLIST_LEASE: float = _seconds("BATFRIEND_WORKLIST_LEASE", 60.0)
BATFRIEND_WORKLIST_ATTEMPTS: int = _count("BATFRIEND_WORKLIST_ATTEMPTS", 5)
BATFRIEND_SWEEP_KEYS: int = _count("BATFRIEND_SWEEP_KEYS", 1000)
BATFRIEND_RETENTION_SECONDS: float = _seconds("BATFRIEND_RETENTION_SECONDS", 30 * 24 * 3600.0)
BATFRIEND_ARCHIVE_INTERVAL: float = _seconds("BATFRIEND_ARCHIVE_INTERVAL", 60.0)
LOG_LEVEL: str = _log_level("LOG_LEVEL")
LOG_FORMAT: str = _text("LOG_FORMAT", "%(asctime)s %(levelname)s %(name)s: %(message)s") or ""
NEW_RELIC_LICENSE_KEY: str | None = _text("NEW_RELIC_LICENSE_KEY")
NEW_RELIC_CONFIG_FILE: str | None = _text("NEW_RELIC_CONFIG_FILE")
BATFRIEND_TEST_CLUSTER: bool = _flag("BATFRIEND_TEST_CLUSTER")
BATFRIEND_TEST_REDIS_URL: str | None = _redis_url(
    "BATFRIEND_TEST_REDIS_URL", _text("BATFRIEND_TEST_REDIS_URL")
)
BATFRIEND_TEST_DATABASE_URL: str | None = _database_url(
    "BATFRIEND_TEST_DATABASE_URL", _text("BATFRIEND_TEST_DATABASE_URL")
)
