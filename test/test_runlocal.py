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
from batfriend.api.service import BAT
from batfriend.databases import EMBEDDED_URL_FILE
from batfriend.embedded import free_port

pytestmark = pytest.mark.slow  # starts processes

SQL_WITH_A_PASSWORD = "mysql+pymysql://batfriend:Sw0rdf1sh@127.0.0.1:1/batfriend"
ROOT = Path(__file__).resolve().parent.parent


def wait_for(url, deadline, status=200):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.headers.get_content_type(), response.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == status:
                return error.headers.get_content_type(), error.read().decode()
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_runlocal(tmp_path, *options, **environment):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(PORT=str(port), BATFRIEND_DATA_DIR=str(tmp_path), **environment)
    process = subprocess.Popen(
        [sys.executable, "runlocal.py", *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, port


class TestRunlocal(TestBase):
    @pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
    def test_serves_the_bat_with_an_embedded_redis_and_stops_it(self, tmp_path, stop_signal):
        process, port = start_runlocal(tmp_path)
        try:
            content_type, body = wait_for(f"http://127.0.0.1:{port}/status", time.monotonic() + 20)
            assert content_type == "text/plain"
            assert body == BAT
            wait_for(f"http://127.0.0.1:{port}/no-such-page", time.monotonic() + 20, 404)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as response:
                assert response.headers["Server"] == "batfriend"  # no Werkzeug/Python versions
            recorded = (tmp_path / EMBEDDED_URL_FILE).read_text()
            assert recorded == f"unix://{tmp_path}/embedded-redis.sock?db=0"
            pid = int((tmp_path / "embedded-redis.pid").read_text())
            assert os.path.exists(f"/proc/{pid}")
        finally:
            process.send_signal(stop_signal)
            output, _ = process.communicate(timeout=20)
        assert f"started embedded Redis at unix://{tmp_path}/" in output
        # exactly one line per request: the app's, not werkzeug's as well
        assert re.search(r"batfriend\.request: GET /no-such-page 404 [0-9.]+ms", output)
        assert len(re.findall(r"/no-such-page", output)) == 1
        assert "watcher started" in output
        assert output.index("watcher stopped") < output.index("embedded Redis stopped")
        assert "embedded Redis stopped" in output
        assert not (tmp_path / EMBEDDED_URL_FILE).exists()
        assert (
            not os.path.exists(f"/proc/{pid}")
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )

    def test_no_watcher_option_leaves_the_watcher_out(self, tmp_path):
        process, port = start_runlocal(tmp_path, "--no-watcher")
        try:
            wait_for(f"http://127.0.0.1:{port}/status", time.monotonic() + 20)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=20)
        assert "watcher started" not in output
        assert "watcher running" not in output
        assert "embedded Redis stopped" in output

    def test_runlocal_start_up_hides_the_sql_password(self, tmp_path):
        process, port = start_runlocal(tmp_path, "--no-watcher", DATABASE_URL=SQL_WITH_A_PASSWORD)
        try:
            wait_for(f"http://127.0.0.1:{port}/status", time.monotonic() + 20)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=20)
        assert "SQL database: mysql+pymysql://batfriend:***@127.0.0.1:1/batfriend" in output
        assert "Sw0rdf1sh" not in output
