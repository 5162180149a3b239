from base_test import TestBase
from batfriend.agency import Agency
from batfriend.agent import Agent, AgentSnapshot
from round_trips import RoundTrips


class TestAgency(TestBase):
    def test_exists(self):
        Agent("alice").register("password 1", now=100.0)
        assert Agency().exists("alice")
        assert not Agency().exists("bob")

    def test_view_many_is_one_round_trip_and_skips_unknown_agents(self, monkeypatch):
        Agent("alice").register("password 1", "Alice 🦇", now=100.0)
        Agent("carol").register("password 3", now=300.0)
        trips = RoundTrips(monkeypatch)
        found = Agency().view_many(["alice", "bob", "carol", "alice"])
        assert found == {
            "alice": AgentSnapshot("alice", "Alice 🦇", 100.0),
            "carol": AgentSnapshot("carol", "carol", 300.0),
        }
        assert trips.names() == [["HMGET"] * 4]
