"""Single Redis against a 3-master Redis Cluster: the same workload, and Redis bytes per item.

    .venv/bin/python -m bench.cluster [--seconds 5] [--threads 8] [--pairs 200]

Starts a private embedded Redis and a private 3-master cluster (ports 15000-15999 and
their bus ports, from the embedded binary), then on each, in this process: registers
``--pairs`` sender/recipient pairs and befriends them, and runs ``--threads`` threads
for ``--seconds`` doing the model calls behind ``POST /messages/send`` and
``POST /messages/inbox`` (one send, one page of 50, in turns). It prints operations
per second, the cluster's over the single Redis's, and the round trips (and waves)
each operation takes, counted on the connections. Then, on the single Redis, the
memory (INFO used_memory) that 10,000 agents, 5,000 friendships, 10,000 delivered
messages and 10,000 scheduled messages add, per item: the figures docs/SCALING.md
builds on. Agents are registered with the cheapest scrypt cost (passwords are not
what this measures).

On one 2-core machine the cluster's three servers share the cores with the load
generator and with each other: this shows the cost of the design (more round trips
per send, a client that routes), not the scale-out a cluster of machines gives.
"""

import argparse
import tempfile
import threading
import time

from redis.cluster import RedisCluster
from redis.connection import AbstractConnection

from batfriend import config, databases, passwords
from batfriend.agent import Agent
from batfriend.embedded import EmbeddedRedis
from batfriend.embedded_cluster import EmbeddedCluster
from batfriend.friends import Friends
from batfriend.messages import Messages

PORTS = range(15000, 16000)


class Trips:
    """Counts writes (round trips) and waves (writes before the next read) per thread."""

    def __init__(self):
        self.trips = 0
        self.waves = 0
        self._lock = threading.Lock()
        self._local = threading.local()
        send, read = AbstractConnection.send_packed_command, AbstractConnection.read_response

        def counted_send(connection, command, check_health=True):
            with self._lock:
                self.trips += 1
                if getattr(self._local, "read", True):
                    self.waves += 1
            self._local.read = False
            return send(connection, command, check_health)

        def counted_read(connection, *args, **kwargs):
            self._local.read = True
            return read(connection, *args, **kwargs)

        AbstractConnection.send_packed_command = counted_send
        AbstractConnection.read_response = counted_read

    def reset(self):
        with self._lock:
            self.trips = self.waves = 0


def use(url):
    config.REDIS_URL = url
    databases.reset()
    databases.get_redis("msg:").flushdb()


def setup_pairs(pairs):
    for n in range(pairs):
        sender, recipient = f"s{n}", f"r{n}"
        Agent(sender).register("correct horse battery")
        Agent(recipient).register("correct horse battery")
        Friends(sender).request(recipient)
        Friends(recipient).accept(sender)


def servers():
    """Plain clients of every server holding data: the Redis, or each cluster primary."""
    client = databases.get_redis("msg:")
    if isinstance(client, RedisCluster):
        return [node.redis_connection for node in client.get_primaries()]
    return [client]


def redis_usec():
    """Microseconds of command time the servers spent since their last CONFIG RESETSTAT."""
    return sum(
        entry["usec"] for server in servers() for entry in server.info("commandstats").values()
    )


def workload(seconds, threads, pairs, trips):
    done = [0] * threads
    stop = threading.Event()

    def run(index):
        n = index
        while not stop.is_set():
            pair = n % pairs
            Messages(f"r{pair}", send_limit=10**9).send(f"s{pair}", "hello")
            Messages(f"r{pair}").page(limit=50)
            done[index] += 2
            n += threads

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for server in servers():
        server.config_resetstat()
    trips.reset()
    started = time.monotonic()
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    ops = sum(done)
    return ops / elapsed, trips.trips / ops, trips.waves / ops, redis_usec() / ops


def used_memory():
    return databases.get_redis("msg:").info("memory")["used_memory"]


def memory_per_item(count=10_000):
    """Bytes per agent, friendship (an agent's first), delivered and scheduled message."""
    base = used_memory()
    for n in range(count):
        Agent(f"m{n}").register("correct horse battery")
    agents = used_memory()
    for n in range(0, count, 2):
        Friends(f"m{n}").request(f"m{n + 1}")
        Friends(f"m{n + 1}").accept(f"m{n}")
    friendships = used_memory()
    body = "x" * 100
    inbox = Messages("m1", send_limit=10**9)
    before = used_memory()
    for _ in range(count):
        inbox.send("m0", body)
    delivered = used_memory()
    later = time.time() + 3600
    for _ in range(count):
        inbox.send("m0", body, deliver_at=later)
    scheduled = used_memory()
    return (
        (agents - base) / count,
        (friendships - agents) / (count // 2),
        (delivered - before) / count,
        (scheduled - delivered) / count,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    # Registering thousands of agents measures scrypt, not Redis: the cheapest cost here
    # (a stored hash is as long; its N field is 4 digits shorter than production's).
    passwords.SCRYPT_N = 2
    data = tempfile.mkdtemp(prefix="batfriend-bench-cluster-")
    single = EmbeddedRedis(f"{data}/single", persistent=False)
    cluster = EmbeddedCluster(f"{data}/cluster", masters=3, ports=PORTS)
    trips = Trips()
    try:
        results = {}
        for name, url in (("single Redis", single.start()), ("3-master cluster", cluster.start())):
            use(url)
            setup_pairs(args.pairs)
            results[name] = workload(args.seconds, args.threads, args.pairs, trips)
        print(f"{args.threads} threads, {args.pairs} pairs, {args.seconds:g} s each")
        print("an op is one send (POST /messages/send) or one page of 50 (POST /messages/inbox)")
        print(f"{'':18} {'ops/s':>8} {'trips/op':>9} {'waves/op':>9} {'redis µs/op':>12}")
        for name, (rate, per_op, waves, usec) in results.items():
            print(f"{name:18} {rate:8.0f} {per_op:9.2f} {waves:9.2f} {usec:12.1f}")
        ratio = results["3-master cluster"][0] / results["single Redis"][0]
        print(f"cluster / single: {ratio:.2f} (2 cores: the cluster's 3 servers share them)")
        use(single.url)
        agent, friendship, message, waiting = memory_per_item()
        print(
            f"Redis bytes (single Redis, 100-character bodies): {agent:.0f} per agent, "
            f"{friendship:.0f} per friendship (both sides, each agent's first), "
            f"{message:.0f} per delivered message, {waiting:.0f} per scheduled message"
        )
    finally:
        databases.reset()
        cluster.stop()
        single.stop()


if __name__ == "__main__":
    main()
