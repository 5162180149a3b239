"""The one loader of Lua scripts: ``batfriend/lua/<name>.lua`` registered per client.

Scripts are read with ``importlib.resources`` (so they load from an installed
wheel too) and registered once per Redis client with ``register_script``; the
returned ``Script`` reloads itself when Redis answers NOSCRIPT (after a restart
or ``SCRIPT FLUSH``). ``run_pipeline`` sends a pipeline of script calls in one
round trip, where redis-py would first ask whether the scripts are loaded.

Out of memory: Redis (6.2 and 7.x) checks a script against ``maxmemory`` only at
its first deny-oom command, and only while it has written nothing, so a script
whose first write frees memory (a ZREMRANGEBYSCORE) would escape the check and
grow without bound. The loader therefore opens every script that may grow
Redis with ``OOM_GUARD``: a deny-oom command that changes nothing, before any
other, so an out-of-memory Redis refuses the whole script before its first write
and the client gets a plain ``-OOM`` error (redis-py's ``OutOfMemoryError``).
"""

import functools
import importlib.resources
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError

# Prepended to scripts that may grow Redis. SETRANGE with an empty value never changes a
# key (nor creates one) but is deny-oom: Redis refuses it while over maxmemory. Another
# error (WRONGTYPE: KEYS[1] is no string) is ignored. 6.2 wraps the OOM error in text of
# its own, so it is re-raised as a plain -OOM reply.
OOM_GUARD = (
    'local oom = redis.pcall("SETRANGE", KEYS[1], 0, "") '
    'if type(oom) == "table" and oom.err and string.find(oom.err, "OOM", 1, true) then '
    "return redis.error_reply(\"OOM command not allowed when used memory > 'maxmemory'.\") "
    "end\n"
)
# Scripts left unguarded: they only read, or only remove (as DEL, which Redis also lets
# through when out of memory, so archiving and completing work can still free memory).
UNGUARDED = frozenset(
    {
        "messages_page",
        "messages_forget",
        "lobby_forget",
        "worklist_complete",
        "sqs_ledger_release",
    }
)

_lock = threading.Lock()
_registered: dict[tuple[int, str], Script] = {}


@functools.cache
def lua_source(name: str) -> str:
    """Return the text of ``batfriend/lua/<name>.lua``."""
    return importlib.resources.files("batfriend.lua").joinpath(f"{name}.lua").read_text("utf-8")


def script_source(name: str) -> str:
    """Return the script Redis runs for ``name``: its file, behind ``OOM_GUARD`` if it may grow."""
    source = lua_source(name)
    return source if name in UNGUARDED else OOM_GUARD + source


def get_script(client: redis.Redis, name: str) -> Script:
    """Return the script ``name`` registered on ``client``, registering it the first time."""
    key = (id(client), name)
    with _lock:
        script = _registered.get(key)
        if script is None or script.registered_client is not client:
            script = _registered[key] = client.register_script(script_source(name))
        return script


def lazy_script(name: str) -> functools.cached_property:
    """A class attribute: script ``name`` on the instance's ``_redis``, registered on first use."""
    return functools.cached_property(lambda self: get_script(self._redis, name))


def run_pipeline(
    client: redis.Redis, queue: Callable[[Pipeline], None], transaction: bool = False
) -> list[Any]:
    """Run what ``queue`` puts on a pipeline of ``client`` in one round trip, scripts included.

    ``transaction`` wraps it in MULTI/EXEC, so nothing runs between its commands: two
    guarded scripts then see the same memory state, and are refused or run together.

    redis-py sends SCRIPT EXISTS for a pipeline's scripts before every execute, a round trip
    of its own; this skips that and sends the EVALSHAs at once. If Redis answers NOSCRIPT (it
    restarted, or its scripts were flushed), ``queue`` fills a fresh pipeline that loads its
    scripts first, and that runs: everything queued may run twice, so it must be idempotent.
    """
    pipeline = client.pipeline(transaction=transaction)
    queue(pipeline)
    pipeline.scripts.clear()
    try:
        return pipeline.execute()
    except NoScriptError:
        pipeline = client.pipeline(transaction=transaction)
        queue(pipeline)
        return pipeline.execute()
