"""The embedded Redis's identity: its unix socket in the data directory, nothing else."""

import os
import stat
import subprocess
import time

import pytest
import redis

from base_test import TestBase
from batfriend import config, databases
from batfriend.embedded import EmbeddedRedis, free_port, redis_server_binary

pytestmark = pytest.mark.slow  # starts redis-server processes


@pytest.fixture
def intruder(tmp_path):
    """Another Redis on a loopback TCP port, holding a key of its own; yields its port."""
    port = free_port()
    process = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.set("intruder", "yes")
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "the intruder Redis did not start"
            time.sleep(0.02)
    yield port
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory with no REDIS_URL set, as runlocal and a hand-started watcher see it."""
    directory = tmp_path / "var"
    directory.mkdir()
    monkeypatch.setattr(config, "REDIS_URL", None)
    monkeypatch.setattr(config, "BATFRIEND_DATA_DIR", str(directory))
    databases.reset()
    yield directory
    monkeypatch.undo()
    databases.reset()


class TestEmbeddedIdentity(TestBase):
    def test_listens_only_on_its_own_socket(self, tmp_path):
        server = EmbeddedRedis(str(tmp_path / "own"), persistent=False)
        url = server.start()
        try:
            socket_path = tmp_path / "own" / "embedded-redis.sock"
            assert url == f"unix://{socket_path}?db=0"
            assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o700
            client = redis.Redis.from_url(url)
            assert client.config_get("port") == {"port": "0"}, "no TCP port at all"
            client.close()
        finally:
            server.stop()

    def test_an_old_record_naming_a_tcp_port_is_ignored(self, data_dir, intruder, caplog):
        (data_dir / databases.EMBEDDED_URL_FILE).write_text(f"redis://127.0.0.1:{intruder}/0")
        assert databases.default_redis_url() == "redis://127.0.0.1:6379/0"
        assert f":{intruder}" not in databases.default_redis_url()
        assert "not this data directory's embedded Redis socket" in caplog.text

    def test_a_stopped_embedded_redis_is_never_replaced_by_another(self, data_dir, intruder):
        server = EmbeddedRedis(str(data_dir), persistent=False)
        url = server.start()
        (data_dir / databases.EMBEDDED_URL_FILE).write_text(url)
        databases.redis_client(url).set("ours", "yes")
        assert databases.get_redis("agent:").get("ours") == b"yes"
        server.stop()
        databases.reset()
        assert databases.default_redis_url() == url
        with pytest.raises(redis.ConnectionError):
            databases.get_redis("agent:").get("intruder")
