"""The one loader of Lua scripts: ``batfriend/lua/<name>.lua`` registered per client.

Scripts are read with ``importlib.resources`` (so they load from an installed
wheel too) and registered once per Redis client with ``register_script``; the
returned ``Script`` reloads itself when Redis answers NOSCRIPT (after a restart
or ``SCRIPT FLUSH``). ``run_pipeline`` sends a pipeline of script calls in one
round trip, where redis-py would first ask whether the scripts are loaded; on a
Redis Cluster it sends one pipeline per node, all written before any is read (one
wave), because redis-py's cluster pipeline refuses EVALSHA (redis/redis-py#2914).

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
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.connection import AbstractConnection
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ConnectionError,
    NoScriptError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)

try:
    import hiredis
except ImportError:  # redis-py packs without it (slower); requirements.txt installs it
    hiredis = None

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
_sources: dict[str, str] = {}  # sha1 -> Lua source of every registered script
# Answers of one call in a cluster wave that the cluster client resends on its own: the slot
# moved (MOVED is an AskError) or is migrating, the node is gone or failing over, or the node
# lost its scripts (resent as EVAL, which loads the script there again).
_RESEND = (AskError, TryAgainError, ClusterDownError, ConnectionError, TimeoutError, NoScriptError)


@functools.cache
def lua_source(name: str) -> str:
    """Return the text of ``batfriend/lua/<name>.lua``."""
    return importlib.resources.files("batfriend.lua").joinpath(f"{name}.lua").read_text("utf-8")


def script_source(name: str) -> str:
    """Return the script Redis runs for ``name``: its file, behind ``OOM_GUARD`` if it may grow."""
    source = lua_source(name)
    return source if name in UNGUARDED else OOM_GUARD + source


class FlushProofScript(Script):
    """A ``Script`` that answers NOSCRIPT by sending itself whole (EVAL), in the same call.

    redis-py's own fallback loads the script, then runs EVALSHA again: a SCRIPT FLUSH
    between the two (or a failover to a node without it) reaches the caller. EVAL runs
    and caches the script in one command, so no flush can come in between.
    """

    def __call__(self, keys: Any = None, args: Any = None, client: Any = None) -> Any:
        """Run the script on ``client`` (default: its own), queued when that is a pipeline."""
        keys, args = list(keys or []), list(args or [])
        client = self.registered_client if client is None else client
        if isinstance(client, Pipeline):
            return super().__call__(keys, args, client)
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return client.eval(self.script, len(keys), *keys, *args)


def is_cluster(client: redis.Redis | RedisCluster) -> bool:
    """Return whether ``client`` is a Redis Cluster client (cheaper than ``isinstance``,
    which walks redis-py's protocol classes: this runs several times a request)."""
    return _is_cluster_type(type(client))


@functools.cache
def _is_cluster_type(kind: type) -> bool:
    return issubclass(kind, RedisCluster)


def get_script(client: redis.Redis, name: str) -> Script:
    """Return the script ``name`` registered on ``client``, registering it the first time."""
    key = (id(client), name)
    script = _registered.get(key)  # a dict read is atomic: the lock only for registering
    if script is not None and script.registered_client is client:
        return script
    with _lock:
        script = _registered.get(key)
        if script is None or script.registered_client is not client:
            script = _registered[key] = FlushProofScript(client, script_source(name))
            _sources[script.sha] = script.script
        return script


def lazy_script(name: str) -> functools.cached_property:
    """A class attribute: script ``name`` on the instance's ``_redis``, registered on first use."""
    return functools.cached_property(lambda self: get_script(self._redis, name))


def _as_eval(args: tuple) -> tuple:
    """Return an EVALSHA of a registered script as the EVAL of its source; else ``args``."""
    if args[0] == "EVALSHA" and args[1] in _sources:
        return ("EVAL", _sources[args[1]], *args[2:])
    return args


def run_pipeline(
    client: redis.Redis | RedisCluster, queue: Callable[[Pipeline], None]
) -> list[Any]:
    """Run what ``queue`` puts on a pipeline of ``client`` in one round trip, scripts included.

    redis-py sends SCRIPT EXISTS for a pipeline's scripts before every execute, a round trip
    of its own; this skips that and sends the EVALSHAs at once, packed by hiredis in one
    call per command (redis-py's own packing looks at every argument in Python: 1,000
    phone numbers cost more than the round trip). If Redis answers NOSCRIPT (it
    restarted, or its scripts were flushed), the calls go again with their scripts whole
    (EVAL, which also loads them): everything queued may run twice, so it must be
    idempotent. A connection lost or timed out on the way hands the calls, scripts whole,
    to redis-py's pipeline, which reconnects and retries by the client's policy.
    On a cluster see ``_run_on_cluster``.
    """
    if is_cluster(client):
        return _run_on_cluster(client, queue)
    commands = _recorded(queue)
    if not commands:
        return []
    results: list[Any] = [None] * len(commands)
    part = [(client, list(range(len(commands))))]
    _send_wave(part, commands, results)
    if any(isinstance(result, NoScriptError) for result in results):
        commands = [(_as_eval(args), options) for args, options in commands]
        results = [None] * len(commands)
        _send_wave(part, commands, results)
    if any(isinstance(result, (ConnectionError, TimeoutError)) for result in results):
        return _run_by_redis_py(client, commands)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def _recorded(queue: Callable[[Pipeline], None]) -> list[tuple[tuple, dict[str, Any]]]:
    """Return the ``(arguments, options)`` of each command ``queue`` puts on a pipeline."""
    recorder = Pipeline(None, {}, transaction=False, shard_hint=None)
    queue(recorder)
    return recorder.command_stack


def _run_by_redis_py(client: redis.Redis, commands: list) -> list[Any]:
    """Run ``commands`` on a redis-py pipeline of ``client`` (its reconnects and retries),
    scripts sent whole: a Redis that dropped the connection may have restarted without them."""
    pipeline = client.pipeline(transaction=False)
    pipeline.command_stack = [(_as_eval(args), options) for args, options in commands]
    return pipeline.execute()


def _run_on_cluster(client: RedisCluster, queue: Callable[[Pipeline], None]) -> list[Any]:
    """Run the queued calls as one wave: a pipeline per node, every one written, then read.

    Each call goes to the primary of its slot (from its first key; EVALSHA's keys are read
    from its arguments, so no COMMAND GETKEYS). A node that answered NOSCRIPT (restarted,
    flushed, or new) gets its whole part again, in order, its scripts sent whole (EVAL). A call
    answered MOVED, ASK, TRYAGAIN, CLUSTERDOWN or cut off by a lost connection is sent
    again on its own through the cluster client, which follows redirections and refreshes
    its slot map. Either way a call may run twice, so it must be idempotent, as above.
    """
    commands = _recorded(queue)
    by_node: dict[str, tuple[ClusterNode, list[int]]] = {}
    for index, (args, _) in enumerate(commands):
        node = client.nodes_manager.get_node_from_slot(client.determine_slot(*args))
        by_node.setdefault(node.name, (node, []))[1].append(index)
    results: list[Any] = [None] * len(commands)
    parts = [(node.redis_connection, indexes) for node, indexes in by_node.values()]
    _send_wave(parts, commands, results)
    reloaded = [
        (node_client, indexes)
        for node_client, indexes in parts
        if any(isinstance(results[index], NoScriptError) for index in indexes)
    ]
    if reloaded:
        for _, indexes in reloaded:
            for index in indexes:
                results[index] = None
                commands[index] = (_as_eval(commands[index][0]), commands[index][1])
        _send_wave(reloaded, commands, results)
    for index, result in enumerate(results):
        if isinstance(result, _RESEND):
            args, options = commands[index]
            results[index] = client.execute_command(*_as_eval(args), **options)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def _send_wave(parts: list[tuple[redis.Redis, list[int]]], commands: list, results: list) -> None:
    """Write each part's calls on one connection of its Redis, then read every answer into
    ``results``; a part is one server (a cluster node's own client) and the calls it gets."""
    sent = []
    try:
        for client, indexes in parts:
            pool = client.connection_pool
            try:
                connection = pool.get_connection()
            except (ConnectionError, TimeoutError) as error:
                for index in indexes:
                    results[index] = error
                continue
            sent.append((client, indexes, connection))
            try:
                connection.send_packed_command(_pack(connection, commands, indexes))
            except (ConnectionError, TimeoutError) as error:
                for index in indexes:
                    results[index] = error
        for client, indexes, connection in sent:
            for at, index in enumerate(indexes):
                if results[index] is not None:
                    break
                args, options = commands[index]
                try:
                    results[index] = client.parse_response(connection, args[0], **options)
                except (ConnectionError, TimeoutError) as error:
                    connection.disconnect()
                    for unread in indexes[at:]:
                        results[unread] = error
                    break
                except ResponseError as error:
                    results[index] = error
    finally:
        for client, _, connection in sent:
            client.connection_pool.release(connection)


def _pack(connection: AbstractConnection, commands: list, indexes: list[int]) -> list[bytes]:
    """Return the calls at ``indexes`` in Redis's protocol: one buffer, packed by hiredis in C.

    What hiredis cannot pack (a command name of two words, a bool) goes redis-py's way,
    which splits the name and raises redis-py's own DataError.
    """
    calls = [commands[index][0] for index in indexes]
    if hiredis is not None and not any(" " in args[0] for args in calls):
        try:
            return [b"".join([hiredis.pack_command(args) for args in calls])]
        except TypeError:
            pass
    return connection.pack_commands(calls)
