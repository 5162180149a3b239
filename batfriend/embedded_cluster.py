"""A private Redis Cluster for tests and benchmarks, built from the embedded Redis binary.

Each node is a redis-server process on a loopback port (its cluster bus on port + 10000),
keeping nothing on disk but its nodes.conf. No ``redis-cli --cluster``
is needed: the slots are split evenly with CLUSTER ADDSLOTS, the nodes meet with
CLUSTER MEET, replicas follow with CLUSTER REPLICATE, and ``start`` returns once
every node agrees on the slot map (and every replica's link is up).
"""

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterable

import redis

from batfriend.embedded import answers_ping, redis_server_binary, stop_process

SLOTS = 16384
BUS_OFFSET = 10000  # Redis's cluster bus listens on port + 10000


def _bindable(port: int) -> bool:
    """Return whether nothing listens on 127.0.0.1:``port`` right now."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_ports(count: int, candidates: Iterable[int]) -> list[int]:
    """Return ``count`` ports of ``candidates`` whose cluster bus port is free too."""
    ports = []
    for port in candidates:
        if _bindable(port) and _bindable(port + BUS_OFFSET):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports (with bus ports) among the candidates")


def slot_ranges(masters: int) -> list[range]:
    """Split the 16,384 slots into ``masters`` contiguous, even ranges."""
    bounds = [SLOTS * n // masters for n in range(masters + 1)]
    return [range(bounds[n], bounds[n + 1]) for n in range(masters)]


class ClusterNode:
    """One cluster-enabled redis-server process on 127.0.0.1:``port``."""

    def __init__(self, data_dir: str, port: int, node_timeout_ms: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self._node_timeout_ms = node_timeout_ms
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        os.makedirs(self.data_dir, exist_ok=True)
        self._process = subprocess.Popen(
            [
                redis_server_binary(),
                *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.data_dir),
                *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
                *("--logfile", os.path.join(self.data_dir, "redis.log")),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", str(self._node_timeout_ms)),
                *("--cluster-replica-validity-factor", "0"),
                # A failed primary's slots stop; the others go on serving meanwhile.
                *("--cluster-require-full-coverage", "no"),
            ],
            stdin=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        if not answers_ping(client, self._process, timeout):
            raise RuntimeError(f"cluster node did not start; see {self.data_dir}/redis.log")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and wait for it to exit."""
        stop_process(self._process)
        self._process = None


class EmbeddedCluster:
    """``masters`` primaries with ``replicas`` replicas each, every node its own process."""

    def __init__(
        self,
        data_dir: str,
        masters: int = 3,
        replicas: int = 0,
        ports: Iterable[int] = range(20000, 30000),
        node_timeout_ms: int = 1000,
    ) -> None:
        self._data_dir = os.path.abspath(data_dir)
        self._masters = masters
        self._replicas = replicas
        self._candidates = ports
        self._node_timeout_ms = node_timeout_ms
        self.nodes: list[ClusterNode] = []
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        """Start every node, form the cluster, wait until it is whole; return its URL."""
        count = self._masters * (1 + self._replicas)
        ports = free_cluster_ports(count, self._candidates)
        self.nodes = [
            ClusterNode(os.path.join(self._data_dir, str(port)), port, self._node_timeout_ms)
            for port in ports
        ]
        try:
            for node in self.nodes:
                node.start()
            self._form(timeout)
        except BaseException:
            self.stop()
            raise
        self.url = f"redis+cluster://127.0.0.1:{ports[0]}"
        return self.url

    def client(self, node: ClusterNode) -> redis.Redis:
        """Return a plain client of one node (the caller closes it)."""
        return redis.Redis(port=node.port, socket_timeout=5, decode_responses=True)

    def _form(self, timeout: float) -> None:
        clients = [self.client(node) for node in self.nodes]
        try:
            masters = clients[: self._masters]
            for epoch, (client, slots) in enumerate(
                zip(masters, slot_ranges(self._masters), strict=True), start=1
            ):
                client.execute_command("CLUSTER SET-CONFIG-EPOCH", epoch)
                client.execute_command("CLUSTER ADDSLOTS", *slots)
            for node in self.nodes[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
            deadline = time.monotonic() + timeout
            ids = [client.execute_command("CLUSTER MYID") for client in clients]
            self._wait(deadline, lambda: all(self._knows(c, ids) for c in clients), "meet")
            replicas = clients[self._masters :]
            for n, client in enumerate(replicas):
                client.execute_command("CLUSTER REPLICATE", ids[n % self._masters])
            self._wait(deadline, lambda: all(self._whole(c) for c in clients), "slots")
            self._wait(deadline, lambda: all(self._linked(c) for c in replicas), "replicas")
        finally:
            for client in clients:
                client.close()

    @staticmethod
    def _wait(deadline: float, ready: Callable[[], bool], what: str) -> None:
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded cluster did not form in time ({what})")
            time.sleep(0.05)

    @staticmethod
    def _knows(client: redis.Redis, ids: list[str]) -> bool:
        """Whether this node lists every node id, none of them still in handshake."""
        nodes = client.execute_command("CLUSTER NODES").values()
        return {node["node_id"] for node in nodes if "handshake" not in node["flags"]} >= set(ids)

    def _whole(self, client: redis.Redis) -> bool:
        """Whether this node reports the cluster ok with every slot on one of the masters."""
        info = client.execute_command("CLUSTER INFO")
        if info["cluster_state"] != "ok" or int(info["cluster_size"]) != self._masters:
            return False
        covered = sum(end - start + 1 for start, end, *_ in client.execute_command("CLUSTER SLOTS"))
        return covered == SLOTS

    @staticmethod
    def _linked(client: redis.Redis) -> bool:
        """Whether this replica's link to its master is up."""
        return client.info("replication").get("master_link_status") == "up"

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()
        self.nodes = []
