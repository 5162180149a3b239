"""A private redis-server with options of the test's choosing, on a unix socket in tmp_path."""

import os
import subprocess
import time

import redis


class PrivateRedis:
    """One redis-server process (``binary``) started with extra ``options``; ``url`` reaches it."""

    def __init__(self, binary: str, directory: str, *options: str) -> None:
        os.makedirs(directory, exist_ok=True)
        self.socket = os.path.join(directory, "redis.sock")
        self.url = f"unix://{self.socket}?db=0"
        self._command = [
            binary,
            "--port",
            "0",
            "--unixsocket",
            self.socket,
            "--dir",
            directory,
            "--save",
            "",
            *options,
        ]
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "PrivateRedis":
        """Start the server and wait until it answers PING."""
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                assert self._process.poll() is None, f"{self._command[0]} exited"
                assert time.monotonic() < deadline, f"{self._command[0]} did not start"
                time.sleep(0.02)
            finally:
                client.close()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
