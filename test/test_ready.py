import time

import pytest

from base_test import TestBase
from batfriend import config, databases
from batfriend.embedded import free_port


@pytest.fixture
def restore_databases(monkeypatch):
    yield
    monkeypatch.undo()
    databases.reset()


class TestReady(TestBase):
    def test_ready_when_redis_and_sql_answer(self, client):
        response = client.get("/ready")
        assert response.status_code == 200
        assert response.get_json() == {"redis": "ok", "sql": "ok"}

    def test_redis_down_is_503_naming_it(self, client, spare_redis, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "REDIS_URL", spare_redis.url)
        databases.reset()
        assert client.get("/ready").status_code == 200
        spare_redis.stop()
        started = time.monotonic()
        response = client.get("/ready")
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"]["code"] == "unavailable"
        assert "redis" in body["error"]["message"]
        assert (body["redis"], body["sql"]) == ("down", "ok")

    def test_a_down_shard_counts(self, client, spare_redis, monkeypatch, restore_databases):
        monkeypatch.setattr(config, "BATFRIEND_REDIS_SHARDS", {"msg:": spare_redis.url})
        databases.reset()
        assert client.get("/ready").status_code == 200
        spare_redis.stop()
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.get_json()["redis"] == "down"

    def test_sql_down_is_503_naming_it(self, client, monkeypatch, restore_databases):
        monkeypatch.setattr(
            config, "DATABASE_URL", f"mysql+pymysql://root@127.0.0.1:{free_port()}/x"
        )
        databases.reset()
        response = client.get("/ready")
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"]["code"] == "unavailable"
        assert "sql" in body["error"]["message"]
        assert (body["redis"], body["sql"]) == ("ok", "down")

    def test_status_stays_shallow_when_sql_is_down(self, client, monkeypatch, restore_databases):
        monkeypatch.setattr(
            config, "DATABASE_URL", f"mysql+pymysql://root@127.0.0.1:{free_port()}/x"
        )
        databases.reset()
        assert client.get("/status").status_code == 200
        assert client.get("/ready").status_code == 503
