import subprocess
import sys

import pytest

from base_test import TestBase
from batfriend.agency import Agency
from batfriend.agent import Agent
from batfriend.databases import get_redis
from batfriend.migrate import rename_system_keys
from batfriend.watcher import MessageWatcher
from helpers import ROOT, Running, environment, wait_until


class TestRenameSystemKeys(TestBase):
    def test_an_old_index_is_merged_into_the_new_one_once(self):
        redis = get_redis("agent:")
        Agent("bob").register("correct horse battery", now=20.0)
        redis.zadd("agent:index", {"alice": 10.0, "bob": 5.0})
        assert not Agency().exists("alice")
        assert rename_system_keys() == 1
        assert redis.zrange("agent::index", 0, -1, withscores=True) == [
            (b"bob", 5.0),
            (b"alice", 10.0),
        ]
        assert not redis.exists("agent:index")
        assert Agency().exists("alice")
        assert rename_system_keys() == 0

    def test_a_user_named_index_is_never_moved(self):
        Agent("index").register("correct horse battery")
        assert rename_system_keys() == 0
        assert Agent("index").view().username == "index"
        assert Agency().exists("index")

    def test_a_starting_watcher_moves_the_old_index(self):
        get_redis("agent:").zadd("agent:index", {"alice": 10.0})
        with Running(MessageWatcher({}, {}, tick=0.01)):
            wait_until(lambda: Agency().exists("alice"))
        assert not get_redis("agent:").exists("agent:index")


@pytest.mark.slow
class TestMigrateCommand(TestBase):
    def test_python_m_batfriend_migrate_moves_the_old_index(self, tmp_path):
        get_redis("agent:").zadd("agent:index", {"alice": 10.0})
        command = [sys.executable, "-m", "batfriend.migrate"]
        ran = subprocess.run(
            command, cwd=ROOT, env=environment(tmp_path), capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "moved 1 renamed system keys"
        assert Agency().exists("alice")
