import threading

import pytest

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.errors import Forbidden, NotFound, TooManyRequests
from batfriend.keys import LobbyKeys, bucket_of
from batfriend.lobby import MEMBER_IDLE, Lobby, LobbySnapshot, prune_idle_members
from batfriend.messages import Messages
from batfriend.passes import REPAIRERS
from batfriend.sweeper import Sweeper

NOW = 1_700_000_000.0


def history_all(lobby, member, limit):
    """Walk a lobby's history page by page; return every message seen, in order."""
    seen, before = [], None
    while True:
        page, before = lobby.history(member, before, limit, now=NOW)
        seen.extend(page)
        if before is None:
            return seen


class TestLobby(TestBase):
    def test_first_join_creates_the_lobby(self):
        with pytest.raises(NotFound):
            Lobby("bats").view("alice", now=NOW)
        assert Lobby("bats").join("alice", now=NOW) == LobbySnapshot("bats", 1, ("alice",), 0)
        assert Lobby("bats").join("bob", now=NOW + 1) == LobbySnapshot(
            "bats", 2, ("bob", "alice"), 0
        )

    def test_a_lobby_everyone_left_is_gone_unless_it_has_a_history(self):
        Lobby("bats").join("alice", now=NOW)
        Lobby("bats").leave("alice")
        Lobby("bats").leave("alice")
        with pytest.raises(NotFound):
            Lobby("bats").view("alice", now=NOW)
        Lobby("caves").join("alice", now=NOW)
        Lobby("caves").post("alice", "hi", now=NOW)
        Lobby("caves").leave("alice")
        assert Lobby("caves").view("alice", now=NOW) == LobbySnapshot("caves", 0, (), 1)

    def test_posts_share_the_send_limit_with_messages(self, befriend):
        befriend("alice", "bob")
        lobby = Lobby("bats", send_limit=2)
        lobby.join("alice", now=NOW)
        lobby.post("alice", "one", now=NOW)
        Messages("bob", send_limit=2).send("alice", "two", now=NOW)
        with pytest.raises(TooManyRequests):
            lobby.post("alice", "three", now=NOW)
        lobby.post("alice", "a minute later", now=NOW + 61)

    def test_online_means_seen_in_the_last_minute(self):
        lobby = Lobby("bats")
        lobby.join("alice", now=NOW)
        lobby.join("bob", now=NOW)
        lobby.post("alice", "still here", now=NOW + 50)
        assert lobby.view("carol", now=NOW + 100).online == ("alice",)
        lobby.history("bob", now=NOW + 100)
        assert lobby.view("carol", now=NOW + 100).online == ("bob", "alice")
        assert lobby.view("alice", now=NOW + 200).online == ("alice",)
        assert lobby.view("carol", now=NOW + 200).members == 2

    def test_only_members_post_and_read(self):
        lobby = Lobby("bats")
        with pytest.raises(NotFound):
            lobby.post("alice", "anyone?", now=NOW)
        with pytest.raises(NotFound):
            lobby.history("alice", now=NOW)
        lobby.join("alice", now=NOW)
        with pytest.raises(Forbidden):
            lobby.post("bob", "let me in", now=NOW)
        with pytest.raises(Forbidden):
            lobby.history("bob", now=NOW)
        lobby.post("alice", "hi", now=NOW)
        lobby.leave("alice")
        with pytest.raises(Forbidden):
            lobby.history("alice", now=NOW)
        assert lobby.view("bob", now=NOW) == LobbySnapshot("bats", 0, (), 1)

    def test_history_past_the_cap_waits_for_the_archiver_and_pages_newest_first(self):
        lobby = Lobby("bats", history_cap=5)
        lobby.join("alice", now=NOW)
        posted = [lobby.post("alice", f"m{i}", now=NOW) for i in range(12)]
        seen = history_all(lobby, "alice", 2)
        assert seen == list(reversed(posted))
        assert all((m.lobby, m.to, m.read) == ("bats", None, None) for m in seen)
        assert Lobby.archivable(5, 100) == posted[:7]
        assert Lobby.archivable(5, 3) == posted[:3]
        assert lobby.view("alice", now=NOW).messages == 12

    def test_a_post_past_the_cap_flags_the_lobby_for_the_archiver(self):
        lobby = Lobby("bats", history_cap=5)
        lobby.join("alice", now=NOW)
        for i in range(5):
            lobby.post("alice", f"m{i}", now=NOW)
        assert get_redis("lobby:").zrange(LobbyKeys.overflowing(bucket_of("bats")), 0, -1) == []
        sixth = lobby.post("alice", "m5", now=NOW)
        assert get_redis("lobby:").zrange(LobbyKeys.overflowing(bucket_of("bats")), 0, -1) == [
            b"bats"
        ]
        assert Lobby.archivable(5, 100) == [history_all(lobby, "alice", 10)[-1]]
        assert sixth.id != Lobby.archivable(5, 100)[0].id

    def test_eight_posters_250_each_keep_every_post_for_the_archiver_in_order(self):
        posters = [f"poster{i}" for i in range(8)]
        for poster in posters:
            Lobby("bats").join(poster)
        start = threading.Barrier(8)
        posted = []

        def post_many(poster):
            lobby = Lobby("bats", send_limit=1000)
            start.wait()
            posted.extend(lobby.post(poster, f"{poster} {n}").id for n in range(250))

        threads = [threading.Thread(target=post_many, args=(p,)) for p in posters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(posted)) == 2000
        seen = [m.id for m in history_all(Lobby("bats"), "poster0", 100)]
        assert seen == sorted(posted, reverse=True)
        assert [m.id for m in Lobby.archivable(1000, 2000)] == sorted(posted)[:1000]
        assert Lobby("bats").view("poster0").messages == 2000

    def test_the_sweep_drops_members_unseen_for_a_day(self):
        for name, seen in [("old", NOW - MEMBER_IDLE - 1), ("edge", NOW - MEMBER_IDLE)]:
            Lobby("bats").join(name, now=seen)
        Lobby("bats").join("fresh", now=NOW - 10)
        Lobby("caves").join("old", now=NOW - 2 * MEMBER_IDLE)
        Lobby("caves").post("old", "still in the history", now=NOW - 2 * MEMBER_IDLE)
        keys = [LobbyKeys.members("bats"), LobbyKeys.info("bats"), LobbyKeys.members("caves")]
        assert prune_idle_members(keys, now=NOW) == 2
        assert Lobby("bats").view("nobody", now=NOW) == LobbySnapshot("bats", 2, ("fresh",), 0)
        with pytest.raises(Forbidden):
            Lobby("caves").history("old", now=NOW)
        assert Lobby("caves").join("old", now=NOW).messages == 1, "joining again brings it back"
        assert len(history_all(Lobby("caves"), "old", 10)) == 1

    def test_the_production_sweep_prunes_lobbies(self):
        Lobby("bats").join("old", now=1.0)
        Lobby("bats").join("fresh")
        Sweeper(REPAIRERS, count=1000).sweep()
        assert Lobby("bats").view("nobody").members == 1

    def test_the_production_sweep_leaves_the_archivers_overflow_flags_alone(self):
        lobby = Lobby("bats", history_cap=1)
        lobby.join("alice", now=1.0)
        first = lobby.post("alice", "first", now=1.0)
        lobby.post("alice", "second", now=1.0)
        flags = get_redis("lobby:").zrange(
            LobbyKeys.overflowing(bucket_of("bats")), 0, -1, withscores=True
        )
        assert flags == [(b"bats", 1.0)], "scored by time, like a members ZSET"
        Sweeper(REPAIRERS, count=1000).sweep()
        assert lobby.view("nobody").members == 0, "alice was idle, so the sweep pruned her"
        assert get_redis("lobby:").zrange(LobbyKeys.overflowing(bucket_of("bats")), 0, -1) == [
            b"bats"
        ]
        assert Lobby.archivable(1, 100) == [first]

    def test_snapshot_round_trips(self):
        snapshot = LobbySnapshot("bats", 3, ("alice",), 7)
        assert LobbySnapshot.load_json(snapshot.dump_json()) == snapshot
        assert LobbySnapshot.load_msgpack(snapshot.dump_msgpack()) == snapshot
        assert snapshot.to_dict() == {
            "lobby": "bats",
            "members": 3,
            "online": ["alice"],
            "messages": 7,
        }
