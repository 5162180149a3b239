import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from base_test import TestBase
from batfriend import config, databases
from batfriend.api.service import BAT
from batfriend.embedded import free_port

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


def wait_until_serving(url, process, deadline):
    while True:
        try:
            return request(url)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class TestUwsgi(TestBase):
    def test_production_ini_serves_the_app_and_stops_on_sigterm(self, tmp_path):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UWSGI_", "NEW_RELIC"))}
        env.update(
            PORT=str(port),
            REDIS_URL=config.REDIS_URL,
            DATABASE_URL=databases.database_url(),
            BATFRIEND_DATA_DIR=str(tmp_path),
            UWSGI_PROCESSES="3",  # uWSGI reads UWSGI_<OPTION> over the ini's default
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
