from base_test import TestBase
from batfriend import config, databases
from batfriend.databases import get_redis
from batfriend.keys import PhoneKeys, RateKeys
from round_trips import RoundTrips

A, B = "+14155550100", "+442071838750"


class TestSetPhone(TestBase):
    def test_set_conflict_and_release(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        response = client.post("/phones/set", json={"phone": A}, headers=alice)
        assert response.status_code == 200
        assert response.get_json() == {"phone": A}

        response = client.post("/phones/set", json={"phone": A}, headers=bob)
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "conflict"

        assert client.post("/phones/set", json={"phone": B}, headers=alice).status_code == 200
        assert client.post("/phones/set", json={"phone": A}, headers=bob).status_code == 200
        response = client.post("/phones/discover", json={"phones": [A, B]}, headers=alice)
        assert response.get_json() == {"matches": {A: "bob", B: "alice"}}

    def test_setting_your_own_number_again_is_fine(self, client, signup):
        alice = signup("alice")
        for _ in range(2):
            response = client.post("/phones/set", json={"phone": A}, headers=alice)
            assert response.status_code == 200

    def test_numbers_are_normalised_to_e164(self, client, signup):
        alice = signup("alice")
        response = client.post("/phones/set", json={"phone": "+1 (415) 555-0100"}, headers=alice)
        assert response.get_json() == {"phone": A}
        response = client.post(
            "/phones/discover", json={"phones": ["+1.415.555.0100", A]}, headers=alice
        )
        assert response.get_json() == {"matches": {A: "alice"}}


class TestDiscover(TestBase):
    def test_returns_only_matches(self, client, signup):
        alice, bob = signup("alice"), signup("bob")
        client.post("/phones/set", json={"phone": A}, headers=alice)
        response = client.post(
            "/phones/discover", json={"phones": ["+15550000000", A, "+15550000001"]}, headers=bob
        )
        assert response.status_code == 200
        assert response.get_json() == {"matches": {A: "alice"}}

    def test_a_thousand_numbers_are_one_round_trip(self, client, signup, monkeypatch):
        headers = signup("alice")
        owned = {f"+1415555{n:04d}": f"agent_{n}" for n in (0, 10, 500, 999)}
        for phone, username in owned.items():
            client.post("/phones/set", json={"phone": phone}, headers=signup(username))
        phones = [f"+1415555{n:04d}" for n in range(1000)]

        trips = RoundTrips(monkeypatch)
        response = client.post("/phones/discover", json={"phones": phones}, headers=headers)
        assert response.status_code == 200
        assert response.get_json() == {"matches": owned}
        # One GET checks the session (a token this process has not seen yet); then one round
        # trip counts the 1000 numbers against the daily quota (EVALSHA) and looks them all
        # up in one HMGET, queued after the count.
        assert trips.names() == [["GET"], ["EVALSHA", "HMGET"]]
        hmget = trips.sent[1][1]
        assert hmget[1] == PhoneKeys.owners("phone").encode()
        assert hmget[2:] == [phone.encode() for phone in phones]


class TestDiscoveryQuota(TestBase):
    def test_numbers_per_day_are_counted_before_the_look_up(
        self, client, signup, monkeypatch, round_trips
    ):
        monkeypatch.setattr(config, "BATFRIEND_DISCOVER_LIMIT_PER_DAY", 1500)
        alice, bob = signup("alice"), signup("bob")
        numbers = [f"+1415555{n:04d}" for n in range(1000)]
        assert (
            client.post("/phones/discover", json={"phones": numbers}, headers=alice).status_code
            == 200
        )
        refused = client.post("/phones/discover", json={"phones": numbers}, headers=alice)
        assert refused.status_code == 429
        assert refused.get_json()["error"]["code"] == "too_many_requests"
        assert 24 * 3600 <= int(refused.headers["Retry-After"]) <= 25 * 3600  # hourly buckets
        round_trips.clear()
        refused = client.post("/phones/discover", json={"phones": numbers}, headers=alice)
        # counted first: the look-up queued after the refused count is discarded
        assert round_trips.names() == [["GET", "EVALSHA", "HMGET"]]
        assert refused.status_code == 429 and "matches" not in refused.get_json()
        half = numbers[:500]
        assert (
            client.post("/phones/discover", json={"phones": half}, headers=alice).status_code == 200
        )
        assert (
            client.post("/phones/discover", json={"phones": half[:1]}, headers=alice).status_code
            == 429
        )
        assert (
            client.post("/phones/discover", json={"phones": numbers}, headers=bob).status_code
            == 200
        )

    def test_a_quota_on_another_redis_is_counted_in_a_round_trip_before_the_look_up(
        self, client, signup, monkeypatch, spare_redis, round_trips
    ):
        monkeypatch.setattr(config, "BATFRIEND_DISCOVER_LIMIT_PER_DAY", 1500)
        alice = signup("alice")
        monkeypatch.setattr(config, "BATFRIEND_REDIS_SHARDS", {"rate": spare_redis.url})
        databases.reset()
        try:
            numbers = [f"+1415555{n:04d}" for n in range(1000)]
            ok = client.post("/phones/discover", json={"phones": numbers}, headers=alice)
            assert ok.status_code == 200
            assert get_redis(RateKeys.PREFIX).exists(RateKeys.buckets("discover", "alice"))
            round_trips.clear()
            refused = client.post("/phones/discover", json={"phones": numbers}, headers=alice)
            assert refused.status_code == 429
            assert not any("HMGET" in call for call in round_trips.names())
        finally:
            monkeypatch.undo()
            databases.reset()

    def test_the_default_is_10000_a_day(self):
        assert config.BATFRIEND_DISCOVER_LIMIT_PER_DAY == 10000
