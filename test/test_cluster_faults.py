"""The app on a real Redis Cluster under load: spread, reshard, failover, SCRIPT FLUSH, /ready.

Each test runs the models against a private cluster started from the embedded binary
(the session's 3 masters, or for the failover its own 3 masters + 3 replicas) and
checks every answer and every acknowledged message afterwards.
"""

import os
import signal
import threading
import time

import pytest
import redis
from redis.crc import key_slot

from base_test import TestBase, as_the_apps_redis
from batfriend import databases
from batfriend.agent import Agent
from batfriend.durability import is_volatile
from batfriend.embedded_cluster import EmbeddedCluster
from batfriend.friends import Friends
from batfriend.keys import BUCKETS, AgentKeys, MsgKeys, bucket_of, tag
from batfriend.messages import Messages
from helpers import Threads, wait_until

pytestmark = pytest.mark.slow  # starts clusters and load threads


def node_of(redis_cluster, port):
    """The plain client of the cluster node on ``port`` (closed by the caller)."""
    return redis.Redis(port=port, socket_timeout=5, decode_responses=True)


def ask_cluster(redis_cluster, *command):
    """Send ``command`` to the first node that answers (one may have been killed)."""
    for node in redis_cluster.nodes:
        try:
            with node_of(redis_cluster, node.port) as client:
                return client.execute_command(*command)
        except redis.ConnectionError:
            continue
    raise AssertionError("no node answers")


def primaries(redis_cluster):
    """{port: node id} of the cluster's current primaries."""
    nodes = ask_cluster(redis_cluster, "CLUSTER NODES")
    return {
        int(address.split(":")[1].split("@")[0]): info["node_id"]
        for address, info in nodes.items()
        if "master" in info["flags"] and "fail" not in info["flags"]
    }


def owner_port(redis_cluster, slot):
    """The port of the primary that serves ``slot``."""
    for start, end, primary, *_ in ask_cluster(redis_cluster, "CLUSTER SLOTS"):
        if start <= slot <= end:
            return primary[1]
    raise AssertionError(f"slot {slot} is not served")


def move_slot(redis_cluster, slot, target_port):
    """Reshard ``slot`` to the primary on ``target_port`` as redis-cli does: mark, move, settle."""
    source_port = owner_port(redis_cluster, slot)
    ids = primaries(redis_cluster)
    source, target = node_of(redis_cluster, source_port), node_of(redis_cluster, target_port)
    try:
        target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", ids[source_port])
        source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", ids[target_port])
        moved = 0
        while keys := source.execute_command("CLUSTER GETKEYSINSLOT", slot, 10):
            source.execute_command("MIGRATE", "127.0.0.1", target_port, "", 0, 5000, "KEYS", *keys)
            moved += len(keys)
            time.sleep(0.01)  # let the load run against a half-moved slot
        for port in (target_port, source_port, *ids):
            with node_of(redis_cluster, port) as client:
                client.execute_command("CLUSTER SETSLOT", slot, "NODE", ids[target_port])
        return moved
    finally:
        source.close()
        target.close()


class Load(Threads):
    """Threads sending messages between pairs and reading inboxes until stopped."""

    def __init__(self, pairs, read=True):
        super().__init__()
        self.pairs = pairs
        self.acknowledged = {pair: [] for pair in pairs}
        self.errors = {pair: [] for pair in pairs}  # (when, error)
        self.pages = 0
        self.bad_pages = []
        self._threads = [threading.Thread(target=self._send, args=(p,)) for p in pairs]
        if read:
            self._threads += [threading.Thread(target=self._read, args=(p,)) for p in pairs]

    def _send(self, pair):
        sender, recipient = pair
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                message = Messages(recipient, send_limit=10**9).send(sender, f"{sender}-{n}")
            except Exception as error:  # noqa: BLE001 - every failure is recorded and asserted
                self.errors[pair].append((time.monotonic(), repr(error)))
                time.sleep(0.02)
                continue
            self.acknowledged[pair].append(message.id)

    def _read(self, pair):
        _, recipient = pair
        while not self._stop.is_set():
            try:
                page, _, unread = Messages(recipient).page(limit=20)
            except Exception as error:  # noqa: BLE001
                self.errors[pair].append((time.monotonic(), repr(error)))
                time.sleep(0.02)
                continue
            ids = [m.id for m in page]
            if ids != sorted(ids, reverse=True) or unread < len(ids):
                self.bad_pages.append(ids)
            self.pages += 1

    def check_delivered_once(self):
        """Every acknowledged message is in its inbox, once, unread; nothing else is."""
        for (_, recipient), ids in self.acknowledged.items():
            page, _, unread = Messages(recipient).page(limit=100)
            inbox = databases.get_redis("msg:").zrange(MsgKeys.inbox(recipient), 0, -1)
            assert sorted(m.decode() for m in inbox) == sorted(ids), recipient
            assert unread == len(ids) and len(set(ids)) == len(ids)
            assert [m.id for m in page] == sorted(ids, reverse=True)[:100]


def names_in_bucket(bucket, count, prefix):
    """``count`` usernames whose home bucket is ``bucket``."""
    names, n = [], 0
    while len(names) < count:
        name = f"{prefix}{n}"
        if bucket_of(name) == bucket:
            names.append(name)
        n += 1
    return names


def befriend_pairs(pairs):
    for sender, recipient in pairs:
        for name in (sender, recipient):
            Agent(name).register("correct horse battery")
        Friends(sender).request(recipient)
        Friends(recipient).accept(sender)


class TestSpread(TestBase):
    def test_ten_thousand_agents_spread_over_three_primaries_within_5_percent(
        self, on_cluster_app, redis_cluster
    ):
        for n in range(10_000):
            Agent(f"agent{n}").register("correct horse battery")
        per_node = {}
        for port in primaries(redis_cluster):
            with node_of(redis_cluster, port) as client:
                agents = sum(1 for _ in client.scan_iter(match="agent:{*", count=1000))
            per_node[port] = agents
        assert sum(per_node.values()) == 10_000
        mean = 10_000 / len(per_node)
        spread = max(abs(count - mean) / mean for count in per_node.values())
        print(f"\n10,000 agents over {len(per_node)} primaries: {per_node}, ±{spread:.1%}")
        assert spread <= 0.05


class TestReshard(TestBase):
    def test_sends_and_reads_go_on_while_a_buckets_slot_moves(self, on_cluster_app, redis_cluster):
        bucket = 7
        slot = key_slot(tag(bucket).encode())
        names = names_in_bucket(bucket, 4, "res")
        pairs = [(names[0], names[1]), (names[2], names[3])]
        befriend_pairs(pairs)
        source = owner_port(redis_cluster, slot)
        target = next(port for port in primaries(redis_cluster) if port != source)
        with Load(pairs) as load:
            time.sleep(0.5)
            moved = move_slot(redis_cluster, slot, target)
            time.sleep(0.5)
            moved_back = move_slot(redis_cluster, slot, source)
            time.sleep(0.3)
        errors = {pair: errs for pair, errs in load.errors.items() if errs}
        print(
            f"\nreshard of slot {slot} (bucket {bucket}): {moved} keys there and "
            f"{moved_back} back under load; {sum(map(len, load.acknowledged.values()))} sends, "
            f"{load.pages} pages, errors {errors}"
        )
        assert moved > 0 and moved_back > 0
        assert errors == {} and load.bad_pages == []
        assert all(load.acknowledged.values())
        load.check_delivered_once()


class TestScriptFlush(TestBase):
    def test_script_flush_on_one_primary_under_load_reaches_no_client(
        self, on_cluster_app, redis_cluster
    ):
        pairs = [(f"sf{n}a", f"sf{n}b") for n in range(4)]
        befriend_pairs(pairs)
        flushed = owner_port(redis_cluster, key_slot(AgentKeys.agent(pairs[0][1]).encode()))
        with Load(pairs) as load, node_of(redis_cluster, flushed) as node:
            for _ in range(20):
                node.script_flush()
                time.sleep(0.05)
        assert {pair: errs for pair, errs in load.errors.items() if errs} == {}
        assert load.bad_pages == [] and all(load.acknowledged.values())
        load.check_delivered_once()


class TestReady(TestBase):
    def test_ready_probes_every_primary(self, on_cluster_app, redis_cluster, client):
        assert client.get("/ready").get_json() == {"redis": "ok", "sql": "ok"}
        port = sorted(primaries(redis_cluster))[-1]
        with node_of(redis_cluster, port) as node:
            node.config_set("maxmemory", 1)
            try:
                response = client.get("/ready")
            finally:
                node.config_set("maxmemory", 0)
        assert response.status_code == 503
        assert response.get_json()["redis"] == "down"
        assert client.get("/ready").status_code == 200


@pytest.fixture
def failover_cluster(tmp_path, monkeypatch):
    """Its own 3 masters + 3 replicas (every replica's link up), as the app's Redis."""
    cluster = EmbeddedCluster(str(tmp_path / "failover"), 3, 1, ports=range(15000, 16000))
    with as_the_apps_redis(cluster.start(), monkeypatch):
        yield cluster
    cluster.stop()


class TestFailover(TestBase):
    def test_kill_9_of_a_master_under_load(self, failover_cluster):
        assert not is_volatile(databases.get_redis("msg:")), "every primary has a replica"
        masters = primaries(failover_cluster)
        by_port = {node.port: node for node in failover_cluster.nodes}
        killed = sorted(masters)[0]
        buckets = {port: [] for port in masters}
        for bucket in range(BUCKETS):
            buckets[owner_port(failover_cluster, key_slot(tag(bucket).encode()))].append(bucket)
        pairs = {}
        for port, owned in buckets.items():
            a, b = names_in_bucket(owned[0], 2, f"fo{port}-")
            pairs[port] = [(a, b), (b, a)]
        befriend_pairs([pairs[port][0] for port in masters])
        everyone = [pair for port in masters for pair in pairs[port]]
        with Load(everyone, read=False) as load:
            time.sleep(1.0)
            os.kill(by_port[killed].pid, signal.SIGKILL)
            started = time.monotonic()
            wait_until(lambda: killed not in primaries(failover_cluster), timeout=20)
            time.sleep(3.0)
            before_end = {pair: len(ids) for pair, ids in load.acknowledged.items()}
            time.sleep(1.0)
        hit = pairs[killed]
        spared = [pair for pair in everyone if pair not in hit]
        last_error = max(when for pair in hit for when, _ in load.errors[pair])
        outage = last_error - started
        print(
            f"\nfailover: master {killed} killed; its buckets' sends failed for {outage:.2f} s "
            f"({sum(len(load.errors[p]) for p in hit)} refused), others refused "
            f"{sum(len(load.errors[p]) for p in spared)}; "
            f"{sum(map(len, load.acknowledged.values()))} sends acknowledged"
        )
        assert outage < 5.0
        assert {p: load.errors[p] for p in spared if load.errors[p]} == {}, "others never notice"
        assert all(len(load.acknowledged[p]) > before_end[p] for p in everyone), "all recover"
        load.check_delivered_once()
