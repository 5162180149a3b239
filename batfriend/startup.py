"""Process start-up shared by every entry point: logging first, then New Relic.

New Relic must be initialised before Flask is imported, so entry points call
``configure()`` before anything else (``basic_config.py`` does it on import).
"""

import logging

from batfriend import config

logger = logging.getLogger("batfriend")
_configured = False


def configure() -> bool:
    """Set up logging and, when configured, the New Relic agent; return whether it is on."""
    global _configured
    new_relic_on = bool(config.NEW_RELIC_LICENSE_KEY or config.NEW_RELIC_CONFIG_FILE)
    if _configured:
        return new_relic_on
    _configured = True
    logging.basicConfig(level=config.LOG_LEVEL, format=config.LOG_FORMAT)
    if new_relic_on:
        import newrelic.agent

        newrelic.agent.initialize(config.NEW_RELIC_CONFIG_FILE)
        logger.info("New Relic agent initialised")
    else:
        logger.info("New Relic is off: set NEW_RELIC_LICENSE_KEY or NEW_RELIC_CONFIG_FILE")
    return new_relic_on
