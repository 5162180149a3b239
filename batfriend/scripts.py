"""The one loader of Lua scripts: ``batfriend/lua/<name>.lua`` registered per client.

Scripts are read with ``importlib.resources`` (so they load from an installed
wheel too) and registered once per Redis client with ``register_script``; the
returned ``Script`` reloads itself when Redis answers NOSCRIPT (after a restart
or ``SCRIPT FLUSH``).
"""

import functools
import importlib.resources
import threading

import redis
from redis.commands.core import Script

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
