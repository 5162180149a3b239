"""Run batfriend on a laptop: Flask's threaded server on 0.0.0.0:$PORT (default 8087).

With no REDIS_URL it starts a private embedded Redis (data in BATFRIEND_DATA_DIR)
and records its URL there, so a watcher started by hand finds the same Redis.
SQL defaults to a SQLite file in the same directory. The watcher's loop runs in
a background thread unless ``--no-watcher`` is given. Ctrl-C (or SIGTERM) stops
everything, the watcher and the embedded Redis included.
"""

import argparse
import logging
import os
import signal
import threading
from types import FrameType

from werkzeug.serving import WSGIRequestHandler

from batfriend import config, databases
from batfriend.embedded import EmbeddedRedis
from batfriend.redaction import redact_url
from batfriend.startup import configure
from batfriend.watcher import MessageWatcher

logger = logging.getLogger("batfriend.local")


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its version (and Python's) in the ``Server`` header, and
    without its access line: the app logs one line per request itself."""

    def version_string(self) -> str:
        return "batfriend"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Treat SIGTERM like Ctrl-C, so a plain ``kill`` also stops the embedded Redis."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Start the embedded Redis when needed and the watcher thread, then serve until Ctrl-C."""
    configure()
    parser = argparse.ArgumentParser(prog="runlocal.py", description=main.__doc__)
    parser.add_argument(
        "--no-watcher", action="store_true", help="do not run the watcher in a background thread"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    embedded = None
    watcher = thread = None
    url_file = os.path.join(config.BATFRIEND_DATA_DIR, databases.EMBEDDED_URL_FILE)
    if not config.REDIS_URL:
        embedded = EmbeddedRedis(config.BATFRIEND_DATA_DIR)
        config.REDIS_URL = embedded.start()
        with open(url_file, "w") as recorded:
            recorded.write(config.REDIS_URL)
        logger.info(
            "REDIS_URL is unset: started embedded Redis at %s", redact_url(config.REDIS_URL)
        )
    logger.info("SQL database: %s", redact_url(databases.database_url()))
    try:
        if not args.no_watcher:
            watcher = MessageWatcher()
            thread = threading.Thread(target=watcher.run, name="watcher", daemon=True)
            thread.start()
            logger.info("watcher running in a background thread (--no-watcher turns it off)")
        from batfriend.api import create_app  # after configure(): New Relic precedes Flask

        create_app().run(
            host="0.0.0.0", port=config.PORT, threaded=True, request_handler=_RequestHandler
        )
    except KeyboardInterrupt:
        pass
    finally:
        if watcher is not None and thread is not None:
            watcher.stop()
            thread.join(timeout=10)
        if embedded is not None:
            embedded.stop()
            os.remove(url_file)
            logger.info("embedded Redis stopped")
