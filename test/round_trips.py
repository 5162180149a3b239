"""Count the round trips this process makes to Redis, by reading what each connection sends.

Observes the real traffic (nothing is faked): every ``send_packed_command`` of a
redis-py connection is one write followed by reading its replies, i.e. one round
trip, whether it carries one command, a pipeline or a MULTI/EXEC block. On a
cluster, writes to several nodes before any reply is read are one wave, counted as
one round trip here (their commands together); ``trips_in_waves`` keeps them apart.
Connection housekeeping (handshake, SELECT, health-check PING, the cluster client's
slot-map and command-table reads) is left out.
"""

import threading

from redis.connection import AbstractConnection

_HOUSEKEEPING = {b"PING", b"SELECT", b"CLIENT", b"HELLO", b"AUTH", b"CLUSTER", b"COMMAND"}


def parse_commands(data: bytes) -> list[list[bytes]]:
    """Split RESP-encoded requests into commands, each a list of arguments."""
    commands, at = [], 0
    while at < len(data):
        end = data.index(b"\r\n", at)
        count, at = int(data[at + 1 : end]), end + 2
        arguments = []
        for _ in range(count):
            end = data.index(b"\r\n", at)
            length, at = int(data[at + 1 : end]), end + 2
            arguments.append(data[at : at + length])
            at += length + 2
        commands.append(arguments)
    return commands


class RoundTrips:
    """Records, per round trip, the commands sent; install with pytest's monkeypatch."""

    def __init__(self, monkeypatch):
        self.sent: list[list[list[bytes]]] = []
        self.trips_in_waves: list[int] = []
        self._lock = threading.Lock()
        self._reading = threading.local()
        original = AbstractConnection.send_packed_command
        original_read = AbstractConnection.read_response

        def send_packed_command(connection, command, check_health=True):
            chunks = [command] if isinstance(command, (bytes, str)) else command
            data = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
            commands = parse_commands(data)
            if any(c[0].upper() not in _HOUSEKEEPING for c in commands):
                with self._lock:
                    if getattr(self._reading, "since_send", True) or not self.sent:
                        self.sent.append(commands)
                        self.trips_in_waves.append(1)
                    else:
                        self.sent[-1] = self.sent[-1] + commands
                        self.trips_in_waves[-1] += 1
                self._reading.since_send = False
            return original(connection, command, check_health)

        def read_response(connection, *args, **kwargs):
            self._reading.since_send = True
            return original_read(connection, *args, **kwargs)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)
        monkeypatch.setattr(AbstractConnection, "read_response", read_response)

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()
            self.trips_in_waves.clear()
        self._reading.since_send = True

    def names(self) -> list[list[str]]:
        """Return the command names of each round trip, e.g. [["GET"], ["HMGET"]]."""
        return [[c[0].decode().upper() for c in trip] for trip in self.sent]

    def names_match(self, expected: list[list[str]]) -> bool:
        """Whether ``names()`` is ``expected``, a cluster wave's commands in any order: a wave
        writes its nodes' pipelines in no set order (within one node the order holds)."""
        got = self.names()
        return len(got) == len(expected) and all(
            g == e or (waves > 1 and sorted(g) == sorted(e))
            for g, e, waves in zip(got, expected, self.trips_in_waves, strict=False)
        )
