"""Check that every Lua script call keeps its KEYS in one hash slot, as a cluster requires.

Wraps ``Script.__call__`` (direct calls and calls queued on pipelines alike), so it
observes what the code really sends, on a single Redis too, where nothing would fail.
Two keys are left out, both added to a send's scripts only on a single Redis (on a
cluster the cluster run of the suite would fail on CROSSSLOT otherwise): a session key
(``Session.guard``; on a cluster the session is read first) and the sender's send log
a delivery checks when it shares the reservation's round trip (``Messages.send``; on a
cluster the delivery waits for the reservation's answer).
"""

import importlib.resources

from redis.commands.core import Script
from redis.crc import key_slot

from batfriend.keys import SessionKeys
from batfriend.scripts import FlushProofScript, script_source

# messages_deliver.lua's KEYS from the sixth on: the send log, on a single Redis only.
SINGLE_REDIS_DELIVERY_GUARD = 5
SCRIPT_NAMES = sorted(
    entry.name.removesuffix(".lua")
    for entry in importlib.resources.files("batfriend.lua").iterdir()
    if entry.name.endswith(".lua")
)


def script_name(script):
    """The ``batfriend/lua`` name of a registered script, else redis-py's own (its locks')."""
    names = (name for name in SCRIPT_NAMES if script_source(name) == script.script)
    return next(names, "redis-py:" + script.sha)


def slots(keys):
    """The hash slots of ``keys``."""
    return {key_slot(key.encode() if isinstance(key, str) else key) for key in keys}


class ScriptSlots:
    """Records every script call (name, keys) and those whose keys span several slots."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, list]] = []
        self.crossing: list[tuple[str, list]] = []
        for cls in (Script, FlushProofScript):  # ours, and redis-py's own (its locks)
            monkeypatch.setattr(cls, "__call__", self._wrap(cls, cls.__call__))

    def _wrap(self, cls, original):
        def call(script, keys=(), args=(), client=None):
            if type(script) is cls or cls is FlushProofScript:
                self._record(script, keys)
            return original(script, keys=keys, args=args, client=client)

        return call

    def _record(self, script, keys):
        name = script_name(script)
        record = (name, list(keys))
        self.calls.append(record)
        tagged = [k for k in keys if not str(k).startswith(SessionKeys.PREFIX)]
        if name == "messages_deliver":
            tagged = tagged[:SINGLE_REDIS_DELIVERY_GUARD]
        if len(slots(tagged)) > 1:
            self.crossing.append(record)

    def names(self):
        """The names of the scripts called, sorted, each once."""
        return sorted({name for name, _ in self.calls})
