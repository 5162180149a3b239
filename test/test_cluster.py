"""Redis Cluster plumbing on a real private cluster: the fixture, clients, pipelines, config."""

import os
import time

import pytest
from redis.cluster import RedisCluster
from redis.crc import key_slot

from base_test import TestBase
from batfriend import config, databases
from batfriend.archiver import Archiver
from batfriend.durability import is_volatile
from batfriend.embedded_cluster import SLOTS
from batfriend.keys import BUCKETS, DELIVERY
from batfriend.messages import Messages
from batfriend.passes import Delivery
from batfriend.scripts import get_script, run_pipeline

# Every test here uses a private cluster of redis-server processes.
pytestmark = pytest.mark.slow

HIT = "rate_limiter_hit"


@pytest.fixture
def cluster_client(on_cluster_app):
    return on_cluster_app


def node_clients(redis_cluster):
    """Plain clients of the cluster's primaries, by node name (host:port)."""
    return {
        f"127.0.0.1:{node.port}": redis_cluster.client(node)
        for node in redis_cluster.nodes
        if "master" in redis_cluster.client(node).execute_command("ROLE")[0]
    }


def key_on_each_primary(client, prefix):
    """One key per primary: {node name: key}, found by walking hash tags."""
    keys, tag = {}, 0
    while len(keys) < len(client.get_primaries()):
        key = f"{prefix}{{{tag}}}"
        keys.setdefault(client.get_node_from_key(key).name, key)
        tag += 1
    return keys


class TestEmbeddedCluster:
    def test_three_primaries_share_the_slots_evenly(self, redis_cluster):
        client = redis_cluster.client(redis_cluster.nodes[0])
        owned = {}
        for start, end, primary, *_ in client.execute_command("CLUSTER SLOTS"):
            owned[primary[1]] = owned.get(primary[1], 0) + end - start + 1
        client.close()
        assert sum(owned.values()) == SLOTS
        assert sorted(owned) == sorted(node.port for node in redis_cluster.nodes)
        assert max(owned.values()) - min(owned.values()) <= 1


class TestClusterClient(TestBase):
    def test_a_cluster_url_gives_one_cluster_client_per_process(self, cluster_client):
        assert isinstance(cluster_client, RedisCluster)
        assert databases.get_redis("msg:") is cluster_client
        kwargs = cluster_client.nodes_manager.connection_kwargs
        assert kwargs["socket_timeout"] == config.BATFRIEND_REDIS_TIMEOUT * 2
        assert kwargs["socket_connect_timeout"] == config.BATFRIEND_REDIS_TIMEOUT
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            child = databases.get_redis("rate:")
            ok = child is not cluster_client and isinstance(child, RedisCluster) and child.ping()
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"

    def test_a_cluster_without_replicas_or_persistence_is_volatile(self, cluster_client):
        assert is_volatile(cluster_client) is True

    def test_keys_land_on_the_primary_of_their_slot(self, cluster_client, redis_cluster):
        nodes = node_clients(redis_cluster)
        for name, key in key_on_each_primary(cluster_client, "rate:t:").items():
            cluster_client.set(key, "x")
            assert nodes[name].get(key) == "x"


class TestClusterPipeline(TestBase):
    def queue_hits(self, client, keys):
        hit = get_script(client, HIT)

        def queue(pipeline):
            for key in keys:
                hit(keys=[key], args=[5, 60000], client=pipeline)
                pipeline.get(key)

        return queue

    def test_calls_on_every_primary_go_as_one_wave(self, cluster_client, round_trips):
        keys = list(key_on_each_primary(cluster_client, "rate:t:").values())
        queue = self.queue_hits(cluster_client, keys)
        assert run_pipeline(cluster_client, queue)[1::2] == [b"1"] * 3
        round_trips.clear()
        results = run_pipeline(cluster_client, queue)
        assert results[1::2] == [b"2"] * 3
        assert round_trips.trips_in_waves == [3], "one write per primary, all before a read"
        assert round_trips.names() == [["EVALSHA", "GET"] * 3], "no COMMAND GETKEYS"

    def test_a_script_flush_on_one_primary_reaches_no_caller(self, cluster_client, redis_cluster):
        keys = key_on_each_primary(cluster_client, "rate:t:")
        queue = self.queue_hits(cluster_client, list(keys.values()))
        run_pipeline(cluster_client, queue)
        flushed = next(iter(keys))
        node = node_clients(redis_cluster)[flushed]
        node.script_flush()
        sha = get_script(cluster_client, HIT).sha
        assert node.script_exists(sha) == [False]
        assert run_pipeline(cluster_client, queue)[1::2] == [b"2"] * 3
        assert node.script_exists(sha) == [True]

    def test_a_moved_slot_is_followed(self, cluster_client, redis_cluster):
        run_pipeline(cluster_client, self.queue_hits(cluster_client, ["rate:t:warm"]))
        key = "rate:t:moving"
        source = cluster_client.get_node_from_key(key)
        target = next(n for n in cluster_client.get_primaries() if n.name != source.name)
        target_id = cluster_client.cluster_myid(target).decode()
        for node in node_clients(redis_cluster).values():
            node.execute_command("CLUSTER SETSLOT", key_slot(key.encode()), "NODE", target_id)
        try:
            results = run_pipeline(cluster_client, self.queue_hits(cluster_client, [key]))
            assert results[1] == b"1"
            assert node_clients(redis_cluster)[target.name].get(key) == "1"
        finally:
            source_id = cluster_client.cluster_myid(source).decode()
            cluster_client.delete(key)
            for node in node_clients(redis_cluster).values():
                node.execute_command("CLUSTER SETSLOT", key_slot(key.encode()), "NODE", source_id)


class TestClusterConfig:
    @pytest.mark.parametrize(
        "url", ["redis+cluster://10.0.0.1:7000", "rediss+cluster://h:7000/0", "redis://h/3"]
    )
    def test_cluster_urls_are_redis_urls(self, url):
        assert config._redis_url("REDIS_URL", url) == url

    @pytest.mark.parametrize("url", ["redis+cluster://h:7000/1", "rediss+cluster://h/15"])
    def test_a_cluster_has_only_database_0(self, url):
        with pytest.raises(config.ConfigError, match="database 0"):
            config._redis_url("REDIS_URL", url)

    def test_a_shard_map_may_not_split_families_that_share_slots(self):
        groups = [("msg:", "work:delivery:")]
        assert config.split_group({"msg:": "redis://a", "work:": "redis://a"}, groups) is None
        assert config.split_group({"lobby:": "redis://b"}, groups) is None
        assert config.split_group({"msg:": "redis://a"}, groups) == groups[0]
        assert config.split_group({"msg:": "a", "work:": "b"}, groups) == groups[0]
        assert config.split_group({"work:delivery:": "redis://b"}, groups) == groups[0]


class TestWavesOnTheCluster(TestBase):
    """Round trips and waves per operation on a real 3-master cluster."""

    def test_send_page_and_scheduled_send(self, on_cluster_app, befriend, round_trips):
        befriend("alice", "bob")
        inbox = Messages("bob")
        inbox.send("alice", "warm up")  # the client learns slots and loads scripts
        inbox.page()
        round_trips.clear()
        inbox.send("alice", "hi")
        assert round_trips.names() == [["EVALSHA"], ["EVALSHA"]], "reserve, then deliver"
        round_trips.clear()
        inbox.page()
        assert round_trips.names() == [["EVALSHA"]]
        round_trips.clear()
        inbox.send("alice", "later", deliver_at=time.time() + 60)
        assert round_trips.names() == [["EVALSHA"]], "record and item in the reservation"

    def test_a_delivery_pass_claims_every_bucket_in_one_wave(self, on_cluster_app, round_trips):
        Delivery({DELIVERY: lambda payload: None}).run(budget=5)  # warm up
        round_trips.clear()
        assert Delivery({DELIVERY: lambda payload: None}).run(budget=5) == 0
        assert round_trips.trips_in_waves == [3], "256 claims: one write per primary"
        assert round_trips.names() == [["EVALSHA"] * BUCKETS]

    def test_an_archive_pass_with_nothing_due_reads_every_index_in_two_waves(
        self, on_cluster_app, round_trips
    ):
        Archiver().archive_pass()
        round_trips.clear()
        assert Archiver().archive_pass() == 0
        assert round_trips.trips_in_waves == [3, 3]
        assert round_trips.names() == [["ZRANGEBYSCORE"] * BUCKETS, ["ZRANGE"] * BUCKETS]
