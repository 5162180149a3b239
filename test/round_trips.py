"""Count the round trips this process makes to Redis, by reading what each connection sends.

Observes the real traffic (nothing is faked): every ``send_packed_command`` of a
redis-py connection is one write followed by reading its replies, i.e. one round
trip, whether it carries one command, a pipeline or a MULTI/EXEC block.
Connection housekeeping (handshake, SELECT, health-check PING) is left out.
"""

import threading

from redis.connection import AbstractConnection

_HOUSEKEEPING = {b"PING", b"SELECT", b"CLIENT", b"HELLO", b"AUTH"}


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
        self._lock = threading.Lock()
        original = AbstractConnection.send_packed_command

        def send_packed_command(connection, command, check_health=True):
            chunks = [command] if isinstance(command, (bytes, str)) else command
            data = b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in chunks)
            commands = parse_commands(data)
            if any(c[0].upper() not in _HOUSEKEEPING for c in commands):
                with self._lock:
                    self.sent.append(commands)
            return original(connection, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", send_packed_command)

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()

    def names(self) -> list[list[str]]:
        """Return the command names of each round trip, e.g. [["GET"], ["HMGET"]]."""
        return [[c[0].decode().upper() for c in trip] for trip in self.sent]
