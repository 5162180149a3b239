import pytest

from base_test import NotATestInstance, TestBase
from batfriend import config, databases
from batfriend.embedded import EmbeddedRedis


class TestFlushing(TestBase):
    def test_setup_flushes_the_test_instance(self):
        databases.get_redis("x").set("x:left-over", 1)
        self.setUp()
        assert databases.get_redis("x").dbsize() == 0

    def test_refuses_a_redis_that_is_not_a_test_instance(self, tmp_path, monkeypatch):
        foreign = EmbeddedRedis(str(tmp_path / "foreign"), persistent=False)
        url = foreign.start()
        try:
            databases.redis_client(url).set("precious", "data")
            databases.get_redis("x").set("x:also-kept", 1)
            monkeypatch.setattr(config, "BATFRIEND_REDIS_SHARDS", {"precious": url})
            with pytest.raises(NotATestInstance, match="refusing to flush"):
                self.setUp()
            assert databases.redis_client(url).get("precious") == b"data"
            assert databases.get_redis("x").get("x:also-kept") == b"1"
        finally:
            monkeypatch.undo()
            databases.reset()
            foreign.stop()
