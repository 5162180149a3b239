import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from base_test import TestBase
from batfriend import config, databases
from batfriend.api.service import BAT
from batfriend.embedded import free_port
from batfriend.keys import MsgKeys
from batfriend.messages import Messages
from helpers import inbox_ids

pytestmark = pytest.mark.slow  # starts processes

ROOT = Path(__file__).resolve().parent.parent
APP_READY = "WSGI app 0 (mountpoint='') ready"
UWSGI = Path(sys.executable).parent / "uwsgi"  # requirements.txt installs it beside python


def request(url, body=None, token=None):
    """Return (status, content type, body text) of a GET, or of a JSON POST when body is given."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=5) as r:
            return r.status, r.headers.get_content_type(), r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read().decode()


def post_bytes(url, size):
    """POST a JSON body of ``size`` bytes, declared up front, sending only the first 64 KiB."""
    host, port = url.split("/")[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.putrequest("POST", "/" + url.split("/", 3)[3])
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    padding = b"{" + b" " * (min(size, 64 * 1024) - 2) + b"}"
    try:
        connection.send(padding)
    except ConnectionError:
        pass  # refused mid-body: the answer (or the hang-up) is read below
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def wait_until_serving(url, process, deadline):
    while True:
        try:
            return request(url)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_uwsgi(tmp_path, **settings):
    """Start uWSGI with uwsgi.ini on a free port, the test databases and ``settings``.

    Returns (process, port, log path). uWSGI reads UWSGI_<OPTION> over the ini's default.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "NEW_RELIC"))}
    env.update(
        PORT=str(port),
        REDIS_URL=config.REDIS_URL,
        DATABASE_URL=databases.database_url(),
        BATFRIEND_DATA_DIR=str(tmp_path),
        **settings,
    )
    log = tmp_path / "uwsgi.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(UWSGI), "--ini", str(ROOT / "uwsgi.ini")],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, port, log


class TestUwsgi(TestBase):
    def test_production_ini_serves_the_app_and_stops_on_sigterm(self, tmp_path):
        process, port, log = start_uwsgi(tmp_path, UWSGI_PROCESSES="3")
        try:
            base = f"http://127.0.0.1:{port}"
            status, content_type, body = wait_until_serving(
                base + "/status", process, time.monotonic() + 30
            )
            assert (status, content_type, body) == (200, "text/plain", BAT)

            credentials = {"username": "uwsgi_alice", "password": "correct horse"}
            status, _, body = request(base + "/agents/register", credentials)
            assert status == 201, body
            status, _, body = request(base + "/login", credentials)
            assert status == 200, body
            token = json.loads(body)["token"]
            for _ in range(4):  # several requests, so more than one worker and thread answer
                status, _, body = request(base + "/agents/view", {"username": "uwsgi_alice"}, token)
                assert status == 200 and json.loads(body)["username"] == "uwsgi_alice"
            status, content_type, body = request(base + "/agents/view", {"username": 3}, token)
            assert (status, content_type) == (400, "application/json")
            assert json.loads(body)["error"]["code"] == "bad_request"
            # limit-post: 64 KiB reaches the app; one byte more is refused before it is read.
            limit = 64 * 1024
            assert post_bytes(base + "/login", limit) == 400
            for size in (limit + 1, 300 * 1024 * 1024):
                with pytest.raises((ConnectionError, http.client.HTTPException)):
                    post_bytes(base + "/login", size)
            deadline = time.monotonic() + 30
            while log.read_text().count(APP_READY) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)  # SIGTERM during a worker's import would fail need-app
            while log.read_text().count("/agents/view") < 5 and time.monotonic() < deadline:
                time.sleep(0.1)  # a worker logs a request just after answering it
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=30)
        output = log.read_text()
        assert returncode == 0, output
        assert f"bound to TCP address :{port}" in output
        assert "spawned uWSGI worker 3 " in output and "spawned uWSGI worker 4 " not in output
        assert output.count(APP_READY) == 3  # lazy-apps: each worker imports the app itself
        # one request line each, from uWSGI's logger, none from Python's
        lines = re.findall(r"batfriend\.request: (.*)", output)
        views = [line for line in lines if "/agents/view" in line]
        assert len(views) == 5, lines
        assert all(re.fullmatch(r"POST /agents/view (200|400) \d+ms", line) for line in views)
        assert [line.split()[2] for line in views].count("400") == 1
        assert "INFO batfriend.request" not in output
        assert "goodbye to uWSGI" in output
        assert output.count("Invalid (too big) CONTENT_LENGTH") == 2

    def test_the_worker_is_respawned_and_nothing_is_inconsistent(self, tmp_path, befriend):
        master, port, log = start_uwsgi(
            tmp_path,
            BATFRIEND_SEND_LIMIT_PER_MINUTE="1000000",
            UWSGI_PROCESSES="2",
            UWSGI_THREADS="2",
        )
        base = f"http://127.0.0.1:{port}"
        acknowledged, failures, stop = [], [], threading.Event()

        def send(sender):
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    status, _, body = request(
                        base + "/messages/send", {"to": "bob", "body": f"{sender}-{n}"}, token
                    )
                except OSError as error:  # the killed worker's connection
                    failures.append(error)
                    continue
                if status == 201:
                    acknowledged.append(json.loads(body)["id"])
                else:
                    failures.append(status)

        try:
            wait_until_serving(base + "/status", master, time.monotonic() + 30)
            for name in ("alice", "bob"):
                request(base + "/agents/register", {"username": name, "password": "long enough"})
            befriend("alice", "bob")
            _, _, body = request(base + "/login", {"username": "alice", "password": "long enough"})
            token = json.loads(body)["token"]
            senders = [threading.Thread(target=send, args=(n,)) for n in range(3)]
            for thread in senders:
                thread.start()
            time.sleep(1.0)
            workers = psutil_children(master.pid)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while log.read_text().count(APP_READY) < 3:  # two at start, one respawned
                assert time.monotonic() < deadline, "the worker was not respawned"
                time.sleep(0.1)
            assert workers[0] not in psutil_children(master.pid)
            before_end = len(acknowledged)
            time.sleep(1.0)
            stop.set()
            for thread in senders:
                thread.join(timeout=30)
            assert len(acknowledged) > before_end, "sends go on after the respawn"
        finally:
            stop.set()
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()
                print(log.read_text()[-3000:])
                raise
        messages = databases.get_redis("msg:")
        inbox = inbox_ids("bob")
        assert set(acknowledged) <= inbox, "an acknowledged send was lost"
        assert {m.decode() for m in messages.smembers(MsgKeys.unread("bob"))} == inbox
        assert {m.decode() for m in messages.hkeys(MsgKeys.bodies("bob"))} == inbox
        assert Messages("bob").page(None, 1)[2] == len(inbox)
        print(
            f"\nuWSGI worker killed: respawned; {len(acknowledged)} sends acknowledged and kept, "
            f"{len(failures)} lost with the worker's connections"
        )


def psutil_children(pid: int) -> list[int]:
    """Return the pids of ``pid``'s worker processes."""
    return [child.pid for child in psutil.Process(pid).children()]
