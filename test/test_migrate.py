import json
import subprocess
import sys

import pytest

from base_test import TestBase
from batfriend import config
from batfriend.agency import Agency
from batfriend.agent import Agent
from batfriend.databases import get_redis
from batfriend.friends import Friends
from batfriend.keys import MsgKeys
from batfriend.lobby import Lobby
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.migrate import migrate, move
from batfriend.passes import Delivery
from batfriend.phone_numbers import PhoneNumbers
from batfriend.worklist import Worklist
from helpers import ROOT, environment

NOW = 1_700_000_000.0


def old_deployment():
    """Write a deployment as releases before bucketed keys named it (no hash tags)."""
    redis = get_redis("agent:")
    for name, at in (("alice", 10.0), ("bob", 20.0), ("carol", 30.0)):
        redis.hset(
            f"agent:{name}",
            mapping={
                "username": name,
                "display_name": name,
                "password": "x",
                "created_at": repr(at),
            },
        )
    redis.zadd("agent::index", {"alice": 10.0, "bob": 20.0})
    redis.zadd("agent:index", {"carol": 30.0})  # the release before that one's name
    redis.zadd("msg:friends:alice", {"bob": 1.0})
    redis.zadd("msg:friends:bob", {"alice": 1.0})
    hello = Message.compose("alice", "hello", NOW, to="bob")
    redis.zadd("msg:inbox:bob", {hello.id: 0})
    redis.hset("msg:bodies:bob", hello.id, hello.dump_msgpack())
    redis.sadd("msg:unread:bob", hello.id)
    redis.zadd("msg:archive:due", {"bob": int(NOW * 1000)})
    later = Message.compose("alice", "later", NOW + 1, to="bob", deliver_at=NOW + 100)
    redis.set(f"msg:scheduled:{later.id}", later.dump_stored())
    redis.zadd("work:delivery:due", {later.id: NOW + 100})
    redis.hset("work:delivery:payloads", later.id, json.dumps([later.id, "bob"]))
    redis.zadd("work:chores:due", {"c1": NOW})
    redis.hset("work:chores:payloads", "c1", "sweep the cave")
    redis.hset("lobby:bats:info", mapping={"created_at": repr(NOW), "posted": 0})
    redis.zadd("lobby:bats:members", {"alice": NOW})
    redis.zadd("lobby:_overflowing", {"bats": NOW})
    redis.hset("phone:owners", "+15550100", "alice")
    redis.hset("phone:agents", "alice", "+15550100")
    return hello, later


# The old names put one agent's keys in many slots: that layout only ever ran on one Redis,
# and the migration runs there, before a switch to a cluster.
pytestmark = pytest.mark.skipif(
    config.BATFRIEND_TEST_CLUSTER, reason="the old key layout never ran on a cluster"
)


class TestMigrate(TestBase):
    def test_an_old_deployment_works_after_one_run_and_a_second_run_moves_nothing(self):
        hello, later = old_deployment()
        assert not Agency().exists("alice")
        assert migrate() > 0
        assert [key for key in get_redis("agent:").keys("*") if b"{" not in key] == []
        assert all(Agency().exists(name) for name in ("alice", "bob", "carol"))
        assert Agent("carol").view().username == "carol"
        assert [f["username"] for f in Friends("bob").view().to_dict()["friends"]] == ["alice"]
        page, _, unread = Messages("bob").page()
        assert ([m.id for m in page], unread) == ([hello.id], 1)
        assert Messages.oldest_unarchived_at() == NOW
        assert Delivery().run(budget=5, now=NOW + 200) == 1
        assert [m.body for m in Messages("bob").page()[0]] == ["later", "hello"]
        assert [item[0] for item in Worklist("chores").claim(now=NOW + 1)] == ["c1"]
        assert Lobby("bats").view("alice").members == 1
        assert PhoneNumbers("phone").view().owner("+15550100") == "alice"
        Messages("alice").send("bob", "after", now=NOW + 300)
        assert migrate() == 0

    def test_an_agent_named_index_moves_as_an_agent(self):
        redis = get_redis("agent:")
        redis.hset(
            "agent:index",
            mapping={
                "username": "index",
                "display_name": "i",
                "password": "x",
                "created_at": "1.0",
            },
        )
        redis.zadd("agent::index", {"index": 1.0})
        migrate()
        assert Agent("index").view().display_name == "i"
        assert Agency().exists("index")

    def test_an_interrupted_run_is_finished_by_the_next(self):
        old_deployment()
        redis = get_redis("msg:")
        assert move(redis, "msg:friends:alice", "msg:friends:{x}alice") is True
        assert move(redis, "msg:friends:alice", "msg:friends:{x}alice") is False
        redis.delete("msg:friends:{x}alice")
        redis.zadd("msg:friends:alice", {"bob": 1.0})
        redis.zadd("msg:archive:due", {"zed": 5})
        migrate()
        assert [f["username"] for f in Friends("alice").view().to_dict()["friends"]] == ["bob"]
        assert migrate() == 0

    def test_a_key_already_under_its_new_name_is_merged_not_lost(self):
        redis = get_redis("msg:")
        redis.zadd("msg:friends:alice", {"bob": 1.0, "carol": 3.0})
        redis.zadd(MsgKeys.friends("alice"), {"carol": 2.0, "dave": 4.0})
        migrate()
        assert Friends("alice").view().friends == (("bob", 1.0), ("carol", 2.0), ("dave", 4.0))


@pytest.mark.slow
class TestMigrateCommand(TestBase):
    def test_python_m_batfriend_migrate_moves_an_old_deployment(self, tmp_path):
        old_deployment()
        command = [sys.executable, "-m", "batfriend.migrate"]
        ran = subprocess.run(
            command, cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip().startswith("moved ")
        assert Agency().exists("alice")
