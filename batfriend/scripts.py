"""The one loader of Lua scripts: ``batfriend/lua/<name>.lua`` registered per client.

Scripts are read with ``importlib.resources`` (so they load from an installed
wheel too) and registered once per Redis client with ``register_script``; the
returned ``Script`` reloads itself when Redis answers NOSCRIPT (after a restart
or ``SCRIPT FLUSH``). ``run_pipeline`` sends a pipeline of script calls in one
round trip, where redis-py would first ask whether the scripts are loaded.
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

_lock = threading.Lock()
_registered: dict[tuple[int, str], Script] = {}


@functools.cache
def lua_source(name: str) -> str:
    """Return the text of ``batfriend/lua/<name>.lua``."""
    return importlib.resources.files("batfriend.lua").joinpath(f"{name}.lua").read_text("utf-8")


def get_script(client: redis.Redis, name: str) -> Script:
    """Return the script ``name`` registered on ``client``, registering it the first time."""
    key = (id(client), name)
    with _lock:
        script = _registered.get(key)
        if script is None or script.registered_client is not client:
            script = _registered[key] = client.register_script(lua_source(name))
        return script


def run_pipeline(client: redis.Redis, queue: Callable[[Pipeline], None]) -> list[Any]:
    """Run what ``queue`` puts on a pipeline of ``client`` in one round trip, scripts included.

    redis-py sends SCRIPT EXISTS for a pipeline's scripts before every execute, a round trip
    of its own; this skips that and sends the EVALSHAs at once. If Redis answers NOSCRIPT (it
    restarted, or its scripts were flushed), ``queue`` fills a fresh pipeline that loads its
    scripts first, and that runs: everything queued may run twice, so it must be idempotent.
    """
    pipeline = client.pipeline(transaction=False)
    queue(pipeline)
    pipeline.scripts.clear()
    try:
        return pipeline.execute()
    except NoScriptError:
        pipeline = client.pipeline(transaction=False)
        queue(pipeline)
        return pipeline.execute()
