import threading

import pytest

from base_test import TestBase
from batfriend import friends as friends_module
from batfriend.agent import Agent
from batfriend.errors import BadRequest, Conflict, NotFound, TooManyRequests
from batfriend.friends import (
    MAX_FRIENDS,
    MAX_PENDING_REQUESTS,
    REPAIR_DELAY,
    Friends,
    FriendsSnapshot,
)
from batfriend.passes import Delivery


def register(*names):
    for name in names:
        Agent(name).register("correct horse battery")


def accept_cut_off(monkeypatch, me, other, now):
    """``me`` accepts ``other``, and the process dies after ``me``'s side changed."""

    def crash(*args):
        raise RuntimeError("the process died between the two steps")

    with monkeypatch.context() as patched:
        patched.setattr(friends_module, "apply_side", crash)
        with pytest.raises(RuntimeError):
            Friends(me).accept(other, now=now)


class TestFriends(TestBase):
    def setUp(self):
        super().setUp()
        register("alice", "bob", "carol")

    def test_request_then_accept_makes_both_friends(self):
        assert Friends("alice").request("bob", now=100.0) == "requested"
        assert Friends("alice").view() == FriendsSnapshot((), (), ("bob",))
        assert Friends("bob").view() == FriendsSnapshot((), ("alice",), ())
        Friends("bob").accept("alice", now=200.0)
        assert Friends("alice").view() == FriendsSnapshot((("bob", 200.0),), (), ())
        assert Friends("bob").view() == FriendsSnapshot((("alice", 200.0),), (), ())

    def test_requesting_someone_who_asked_you_makes_friends(self):
        Friends("alice").request("bob")
        assert Friends("bob").request("alice") == "friends"
        assert [n for n, _ in Friends("alice").view().friends] == ["bob"]
        assert Friends("alice").request("bob") == "friends"

    def test_friends_are_listed_oldest_friendship_first(self):
        Friends("alice").request("carol", now=1.0)
        Friends("carol").accept("alice", now=5.0)
        Friends("alice").request("bob", now=2.0)
        Friends("bob").accept("alice", now=3.0)
        assert Friends("alice").view().friends == (("bob", 3.0), ("carol", 5.0))

    def test_accept_without_a_pending_request_is_not_found(self):
        with pytest.raises(NotFound):
            Friends("bob").accept("alice")
        Friends("alice").request("bob")
        with pytest.raises(NotFound):
            Friends("alice").accept("bob")

    def test_request_to_unknown_agent_or_yourself(self):
        with pytest.raises(NotFound):
            Friends("alice").request("ghost")
        with pytest.raises(BadRequest) as refused:
            Friends("alice").request("alice")
        assert refused.value.field == "username"
        assert Friends("alice").view() == FriendsSnapshot((), (), ())

    def test_remove_ends_a_friendship_on_both_sides(self):
        Friends("alice").request("bob")
        Friends("bob").accept("alice")
        Friends("bob").remove("alice")
        assert Friends("alice").view() == Friends("bob").view() == FriendsSnapshot((), (), ())

    def test_remove_withdraws_or_declines_a_request(self):
        Friends("alice").request("bob")
        Friends("alice").remove("bob")
        assert Friends("bob").view() == FriendsSnapshot((), (), ())
        Friends("alice").request("carol")
        Friends("carol").remove("alice")
        assert Friends("alice").view() == FriendsSnapshot((), (), ())
        with pytest.raises(NotFound):
            Friends("carol").accept("alice")

    def test_mutual_requests_raced_leave_both_sides_agreeing(self):
        """Two steps each, so a race may end as one pending request; never as two stories."""
        for _ in range(50):
            Friends("alice").remove("bob")
            start = threading.Barrier(2)
            statuses = {}

            def ask(me, other, start=start, statuses=statuses):
                friends = Friends(me)
                start.wait()
                statuses[me] = friends.request(other)

            threads = [
                threading.Thread(target=ask, args=("alice", "bob")),
                threading.Thread(target=ask, args=("bob", "alice")),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(statuses.values()) in (["friends", "requested"], ["requested"] * 2)
            alice, bob = Friends("alice").view(), Friends("bob").view()
            assert [n for n, _ in alice.friends] == (["bob"] if alice.friends else [])
            assert [n for n, _ in bob.friends] == (["alice"] if alice.friends else [])
            assert (alice.incoming, alice.outgoing) == (
                tuple(n for n in ("bob",) if "alice" in bob.outgoing),
                tuple(n for n in ("bob",) if "alice" in bob.incoming),
            )
            if not alice.friends:
                asked = "alice" if alice.incoming else "bob"
                Friends(asked).accept("bob" if asked == "alice" else "alice")
            alice, bob = Friends("alice").view(), Friends("bob").view()
            assert [n for n, _ in alice.friends] == ["bob"] and [n for n, _ in bob.friends] == [
                "alice"
            ]
            assert alice.friends[0][1] == bob.friends[0][1]
            assert alice.incoming == alice.outgoing == bob.incoming == bob.outgoing == ()

    def test_a_change_cut_off_after_its_first_side_is_repaired_by_the_watcher(self, monkeypatch):
        Friends("alice").request("bob", now=1000.0)
        accept_cut_off(monkeypatch, "bob", "alice", 1001.0)
        assert [n for n, _ in Friends("bob").view().friends] == ["alice"]
        assert Friends("alice").view().friends == () and Friends("alice").view().outgoing == (
            "bob",
        )
        assert Delivery().run(budget=5, now=1001.0 + REPAIR_DELAY - 1) == 0, "not due yet"
        assert Delivery().run(budget=5, now=1001.0 + REPAIR_DELAY) == 1
        alice, bob = Friends("alice").view(), Friends("bob").view()
        assert alice.friends == (("bob", 1001.0),) and bob.friends == (("alice", 1001.0),)
        assert alice.outgoing == alice.incoming == bob.outgoing == bob.incoming == ()

    def test_a_late_repair_never_undoes_a_later_change(self, monkeypatch):
        Friends("alice").request("bob", now=1000.0)
        accept_cut_off(monkeypatch, "bob", "alice", 1001.0)  # alice's side never heard of it
        Friends("alice").remove("bob", now=1002.0)  # later, from alice: both sides now none
        assert Delivery().run(budget=5, now=1001.0 + REPAIR_DELAY) == 1  # the accept's, late
        assert Friends("alice").view() == Friends("bob").view() == FriendsSnapshot((), (), ())

    def test_snapshot_round_trips(self):
        snapshot = FriendsSnapshot((("bob", 3.5),), ("carol",), ("dave",))
        assert FriendsSnapshot.load_json(snapshot.dump_json()) == snapshot
        assert FriendsSnapshot.load_msgpack(snapshot.dump_msgpack()) == snapshot
        assert snapshot.to_dict() == {
            "friends": [{"username": "bob", "since": 3.5}],
            "incoming": ["carol"],
            "outgoing": ["dave"],
        }


class TestBounds(TestBase):
    @pytest.fixture(autouse=True)
    def agents(self):
        for name in ["alice", "bob", "carol", "dave", "erin", "frank"]:
            Agent(name).register("correct horse battery")

    def test_the_defaults(self):
        assert (MAX_FRIENDS, MAX_PENDING_REQUESTS) == (5000, 1000)

    def test_at_most_so_many_pending_outgoing_requests(self):
        alice = Friends("alice", max_requests=3)
        for other in ["bob", "carol", "dave"]:
            assert alice.request(other) == "requested"
        with pytest.raises(TooManyRequests) as refused:
            alice.request("erin")
        assert refused.value.retry_after >= 1
        assert alice.request("bob") == "requested", "asking again is no new request"
        assert Friends("erin").view().incoming == ()
        Friends("bob").request("alice")  # bob accepts by asking back: one fewer pending
        assert alice.request("erin") == "requested"

    @pytest.mark.parametrize("full", ["alice", "bob"], ids=["mine-full", "theirs-full"])
    def test_at_most_so_many_friends_on_either_side(self, full, befriend):
        for other in ["carol", "dave"]:
            befriend(full, other)
        Friends("bob", max_friends=2).request("alice")
        with pytest.raises(Conflict):
            Friends("alice", max_friends=2).accept("bob")
        with pytest.raises(Conflict):
            Friends("alice", max_friends=2).request("bob")
        assert "bob" in Friends("alice").view().incoming, "nothing changed"
        assert Friends("alice").accept("bob") is None  # under a higher bound it goes through
