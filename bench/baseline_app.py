"""bench/http.py's baselines: bare Flask, each endpoint the least its batfriend row can do.

Served by the same uwsgi.ini as batfriend (``--module bench.baseline_app:application``),
so the ratios bench/http.py prints measure what batfriend adds on top of
uWSGI + Flask + the Redis work itself.
"""

import os

import flask
import redis

# bench/http.py fills this hash with the same owners as batfriend's phone book.
OWNERS_KEY = "bench:owners"
PHONES = [f"+1555{i:07d}" for i in range(1000)]
PLAIN = "batfriend baseline\n" * 10

application = flask.Flask(__name__)
# uwsgi.ini has lazy-apps: each worker imports this module, so each has its own client
# (it connects on first use; bench/http.py imports this module only for its constants).
_redis = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


@application.get("/plain")
def plain() -> flask.Response:
    """Answer fixed plain text: no Redis, no JSON (GET /status's baseline)."""
    return flask.Response(PLAIN, mimetype="text/plain")


@application.post("/incr")
def incr() -> flask.Response:
    """Count one request in Redis and answer the count as JSON."""
    return flask.jsonify({"count": _redis.incr("bench:baseline")})


@application.post("/hmget")
def hmget() -> flask.Response:
    """One raw HMGET of 1000 numbers and the owners found as JSON (discover's baseline)."""
    owners = _redis.hmget(OWNERS_KEY, PHONES)
    return flask.jsonify(
        {"matches": {p: o.decode() for p, o in zip(PHONES, owners, strict=True) if o is not None}}
    )
