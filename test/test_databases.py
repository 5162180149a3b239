import os

import pytest
import sqlalchemy

from base_test import TestBase
from batfriend import config, databases


@pytest.fixture
def restore_databases():
    yield
    databases.reset()


class TestRedisRouting(TestBase):
    def test_one_url_shares_one_client(self):
        assert databases.get_redis("agents") is databases.get_redis("messages")

    def test_shards_route_by_longest_prefix(self, spare_redis, monkeypatch, restore_databases):
        monkeypatch.setattr(
            config, "BATFRIEND_REDIS_SHARDS", {"msg": spare_redis.url, "msgx": config.REDIS_URL}
        )
        databases.reset()
        assert databases.redis_url_for("agent:1") == config.REDIS_URL
        assert databases.redis_url_for("msg:inbox") == spare_redis.url
        assert databases.redis_url_for("msgx:other") == config.REDIS_URL

        databases.get_redis("agent:").set("agent:alice", "a")
        databases.get_redis("msg:").set("msg:inbox:alice", "m")
        main = databases.redis_client(config.REDIS_URL)
        spare = databases.redis_client(spare_redis.url)
        assert main.keys("*") == [b"agent:alice"]
        assert spare.keys("*") == [b"msg:inbox:alice"]
        assert sorted(databases.redis_urls()) == sorted({config.REDIS_URL, spare_redis.url})

    def test_a_forked_child_gets_its_own_client(self):
        parent_client = databases.get_redis("agents")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            child_client = databases.get_redis("agents")
            ok = child_client is not parent_client and child_client.ping()
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
        assert databases.get_redis("agents") is parent_client

    def test_recorded_embedded_url_is_the_default(self, tmp_path, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "REDIS_URL", None)
        monkeypatch.setattr(config, "BATFRIEND_DATA_DIR", str(tmp_path))
        url = f"unix://{tmp_path}/embedded-redis.sock?db=0"
        (tmp_path / databases.EMBEDDED_URL_FILE).write_text(url + "\n")
        databases.reset()
        assert databases.default_redis_url() == url


class TestEngine(TestBase):
    def test_engine_answers_and_is_cached(self):
        engine = databases.get_engine()
        assert engine is databases.get_engine()
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("SELECT 1")).scalar() == 1

    def test_sqlite_is_the_default(self, tmp_path, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "DATABASE_URL", None)
        monkeypatch.setattr(config, "BATFRIEND_DATA_DIR", str(tmp_path))
        databases.reset()
        engine = databases.get_engine()
        assert engine.url.get_backend_name() == "sqlite"
        assert engine.url.database == str(tmp_path / "batfriend.sqlite3")

    def test_mysql_urls_get_utf8mb4_and_pre_ping(self, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "DATABASE_URL", "mysql+pymysql://root@127.0.0.1:1/test")
        databases.reset()
        engine = databases.get_engine()
        assert engine.url.query["charset"] == "utf8mb4"
        assert engine.pool._pre_ping is True
        assert (engine.pool._recycle, engine.pool._timeout) == (
            280,
            config.BATFRIEND_SQL_TIMEOUT / 4,
        )

    def test_mariadb_urls_get_the_same_settings(self, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "DATABASE_URL", "mariadb+pymysql://root@127.0.0.1:1/test")
        databases.reset()
        engine = databases.get_engine()
        assert engine.url.query["charset"] == "utf8mb4"
        assert (engine.pool._pre_ping, engine.pool._recycle) == (True, 280)

    @pytest.mark.skipif(
        not (config.BATFRIEND_TEST_DATABASE_URL or "").startswith("mysql"),
        reason="BATFRIEND_TEST_DATABASE_URL names no MySQL/MariaDB",
    )
    def test_mysql_round_trips_unicode(self):
        with databases.get_engine().connect() as connection:
            value = connection.execute(sqlalchemy.text("SELECT :v"), {"v": "🦇 batfriend"}).scalar()
        assert value == "🦇 batfriend"
