"""bench/http.py's baseline: bare Flask, one endpoint, one Redis INCR per request.

Served by the same uwsgi.ini as batfriend (``--module baseline_app:application``),
so the ratios bench/http.py prints measure what batfriend adds on top of
uWSGI + Flask + one Redis round trip.
"""

import os

import flask
import redis

application = flask.Flask(__name__)
# uwsgi.ini has lazy-apps: each worker imports this module, so each has its own client.
_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


@application.post("/incr")
def incr() -> flask.Response:
    """Count one request in Redis and answer the count as JSON."""
    return flask.jsonify({"count": _redis.incr("bench:baseline")})
