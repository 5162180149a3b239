"""Requests per second of POST /messages/send and /messages/inbox, as ratios to a bare baseline.

The baseline is a bare Flask app with one endpoint doing one Redis INCR. All apps
are served the same way: werkzeug's threaded server (``make_server(threaded=True)``,
one child process per app), against one embedded Redis started for the run. The
load comes from client threads in this process (http.client; werkzeug closes every
connection, so each request opens one). Rounds alternate between the endpoints so
a noisy neighbour hurts all of them alike. Run: ``.venv/bin/python -m bench.messages``.
"""

import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CLIENT_THREADS = 4
ROUNDS = 3
SECONDS_PER_ROUND = 3.0
WARM_UP_SECONDS = 0.5


def serve(kind: str, port: int) -> None:
    """Run one app (``batfriend`` or ``bare``) on werkzeug's threaded server until killed."""
    import flask
    from werkzeug.serving import make_server

    from batfriend.databases import get_redis

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if kind == "batfriend":
        from batfriend.api import create_app

        app = create_app()
    else:
        app = flask.Flask("bare")
        redis = get_redis("bench:")

        @app.post("/incr")
        def incr():
            return flask.jsonify({"n": redis.incr("bench:n")})

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(port, path, body, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def wait_for(port):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server came up on port {port}")


def load(port, path, body, token, seconds):
    """Hit one endpoint from CLIENT_THREADS threads for ``seconds``; return requests per second."""
    done = [0] * CLIENT_THREADS
    failures = []
    stop = time.monotonic() + seconds

    def client(slot):
        while time.monotonic() < stop:
            status, answer = post(port, path, body, token)
            if status >= 300:
                failures.append((status, answer))
                return
            done[slot] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENT_THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{path} failed: {failures[0]}")
    return sum(done) / (time.monotonic() - started)


def set_up_agents(port):
    """Register alice and bob, make them friends, give bob a full inbox; return both tokens."""
    tokens = {}
    for name in ("alice", "bob"):
        post(port, "/agents/register", {"username": name, "password": "correct horse battery"})
        _, answer = post(port, "/login", {"username": name, "password": "correct horse battery"})
        tokens[name] = answer["token"]
    post(port, "/friends/request", {"username": "bob"}, tokens["alice"])
    post(port, "/friends/accept", {"username": "alice"}, tokens["bob"])
    for n in range(100):
        status, answer = post(
            port, "/messages/send", {"to": "bob", "body": f"m{n}"}, tokens["alice"]
        )
        if status != 201:
            raise RuntimeError(f"setting up the inbox failed: {answer}")
    return tokens


def main():
    from batfriend.embedded import EmbeddedRedis

    data_dir = tempfile.mkdtemp(prefix="batfriend-bench-")
    redis_server = EmbeddedRedis(os.path.join(data_dir, "redis"), persistent=False)
    env = dict(
        os.environ,
        REDIS_URL=redis_server.start(),
        BATFRIEND_DATA_DIR=data_dir,
        BATFRIEND_SEND_LIMIT_PER_MINUTE=str(10**9),
    )
    ports = {"bare": free_port(), "batfriend": free_port()}
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.messages", "serve", kind, str(port)], env=env, cwd=ROOT
        )
        for kind, port in ports.items()
    ]
    try:
        for port in ports.values():
            wait_for(port)
        tokens = set_up_agents(ports["batfriend"])
        targets = {
            "bare INCR": (ports["bare"], "/incr", {}, None),
            "POST /messages/send": (
                ports["batfriend"],
                "/messages/send",
                {"to": "bob", "body": "hello"},
                tokens["alice"],
            ),
            "POST /messages/inbox": (ports["batfriend"], "/messages/inbox", {}, tokens["bob"]),
            "  (with limit 10)": (
                ports["batfriend"],
                "/messages/inbox",
                {"limit": 10},
                tokens["bob"],
            ),
        }
        totals = dict.fromkeys(targets, 0.0)
        for port, path, body, token in targets.values():
            load(port, path, body, token, WARM_UP_SECONDS)
        for _ in range(ROUNDS):
            for name, (port, path, body, token) in targets.items():
                totals[name] += load(port, path, body, token, SECONDS_PER_ROUND) / ROUNDS
        print(
            "server: werkzeug threaded (make_server, threaded=True), one process per app; "
            f"client: {CLIENT_THREADS} threads, http.client, {ROUNDS} rounds x "
            f"{SECONDS_PER_ROUND:g} s each; inbox pages hold the default 50 messages unless noted"
        )
        baseline = totals["bare INCR"]
        for name, rate in totals.items():
            print(f"{name:22s} {rate:8.0f} req/s   ratio {rate / baseline:.2f}")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        redis_server.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        main()
