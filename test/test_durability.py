"""The start-up WARNING for a Redis that would lose everything in a crash."""

import logging
import time

import pytest

from base_test import TEST_REDIS_URLS, TestBase
from batfriend import config, databases
from batfriend.durability import warn_if_volatile
from batfriend.embedded import redis_server_binary
from redis_server import PrivateRedis

pytestmark = pytest.mark.slow  # starts redis-server processes

WARNING = "has no persistence (no AOF, no RDB save points) and no replica"


@pytest.fixture
def redis_with(tmp_path, monkeypatch):
    """Start a private Redis with the given options and make it the app's Redis."""
    servers = []

    def start(*options):
        server = PrivateRedis(redis_server_binary(), str(tmp_path / str(len(servers))), *options)
        servers.append(server.start())
        TEST_REDIS_URLS.add(server.url)
        monkeypatch.setattr(config, "REDIS_URL", server.url)
        databases.reset()
        return server

    yield start
    monkeypatch.undo()
    databases.reset()
    for server in servers:
        TEST_REDIS_URLS.discard(server.url)
        server.stop()


class TestDurabilityWarning(TestBase):
    @pytest.mark.parametrize(
        ("options", "warned"),
        [
            ((), True),
            (("--appendonly", "yes"), False),
            (("save", "60 1"), False),
            (("--rename-command", "CONFIG", ""), True),
            (("--rename-command", "CONFIG", "", "--appendonly", "yes"), False),
        ],
        ids=["nothing", "aof", "rdb", "no-config", "no-config-aof"],
    )
    def test_warns_only_without_persistence_or_replica(self, redis_with, caplog, options, warned):
        if options[:1] == ("save",):  # set after start: 6.2 lets the empty --save win
            databases.redis_client(redis_with().url).config_set(*options)
        else:
            redis_with(*options)
        with caplog.at_level(logging.WARNING, "batfriend.durability"):
            warn_if_volatile()
        assert (WARNING in caplog.text) is warned

    def test_a_replica_counts(self, redis_with, caplog, tmp_path):
        primary = redis_with("--port", "12091", "--bind", "127.0.0.1")
        replica = PrivateRedis(
            redis_server_binary(), str(tmp_path / "replica"), "--replicaof", "127.0.0.1", "12091"
        ).start()
        try:
            client = databases.redis_client(primary.url)
            for _ in range(200):
                if client.info("replication")["connected_slaves"]:
                    break
                time.sleep(0.02)
            with caplog.at_level(logging.WARNING, "batfriend.durability"):
                warn_if_volatile()
            assert WARNING not in caplog.text
        finally:
            replica.stop()

    def test_redis_down_is_logged_not_raised(self, monkeypatch, caplog):
        monkeypatch.setattr(config, "REDIS_URL", "unix:///nonexistent/redis.sock")
        databases.reset()
        try:
            warn_if_volatile()
            assert "could not check the durability" in caplog.text
        finally:
            monkeypatch.undo()
            databases.reset()

    def test_the_warning_hides_the_password(self, redis_with, monkeypatch, caplog):
        server = redis_with()
        databases.redis_client(server.url).config_set("requirepass", "s3cret-pw")
        with_password = f"{server.url}&password=s3cret-pw"
        TEST_REDIS_URLS.add(with_password)
        monkeypatch.setattr(config, "REDIS_URL", with_password)
        databases.reset()
        try:
            with caplog.at_level(logging.WARNING, "batfriend.durability"):
                warn_if_volatile()
        finally:
            TEST_REDIS_URLS.discard(with_password)
        assert WARNING in caplog.text
        assert "s3cret-pw" not in caplog.text
