"""Run batfriend on a laptop: Flask's threaded server on 0.0.0.0:$PORT (default 8087).

With no REDIS_URL it starts a private embedded Redis (data in BATFRIEND_DATA_DIR)
and records its URL there, so a watcher started by hand finds the same Redis.
SQL defaults to a SQLite file in the same directory. Ctrl-C stops everything,
the embedded Redis included.
"""

import logging
import os

from batfriend import config, databases
from batfriend.embedded import EmbeddedRedis
from batfriend.startup import configure

logger = logging.getLogger("batfriend.local")


def main() -> None:
    """Start the embedded Redis when needed, then serve until Ctrl-C."""
    configure()
    embedded = None
    url_file = os.path.join(config.BATFRIEND_DATA_DIR, databases.EMBEDDED_URL_FILE)
    if not config.REDIS_URL:
        embedded = EmbeddedRedis(config.BATFRIEND_DATA_DIR)
        config.REDIS_URL = embedded.start()
        with open(url_file, "w") as recorded:
            recorded.write(config.REDIS_URL)
        logger.info("REDIS_URL is unset: started embedded Redis at %s", config.REDIS_URL)
    logger.info("SQL database: %s", databases.database_url())
    try:
        from batfriend.api import create_app  # after configure(): New Relic precedes Flask

        create_app().run(host="0.0.0.0", port=config.PORT, threaded=True)
    except KeyboardInterrupt:
        pass
    finally:
        if embedded is not None:
            embedded.stop()
            os.remove(url_file)
            logger.info("embedded Redis stopped")
