"""Process start-up shared by every entry point: logging first, then New Relic.

New Relic must be initialised before Flask is imported, so entry points call
``configure()`` before anything else (``basic_config.py`` does it on import).
The agent reads ``NEW_RELIC_CONFIG_FILE`` when it is set, else the
``newrelic.ini`` shipped beside ``app.py`` (in a clone or the deploy bundle);
the license key and app name always come from the environment.
"""

import logging
import os
from typing import Any

from batfriend import config
from batfriend.errors import error_classes

logger = logging.getLogger("batfriend")
SHIPPED_NEW_RELIC_INI = os.path.join(os.path.dirname(os.path.dirname(__file__)), "newrelic.ini")
_configured = False
_new_relic_on = False


def new_relic_config_file() -> str | None:
    """Return the agent's settings file: NEW_RELIC_CONFIG_FILE, else the shipped one if present."""
    if config.NEW_RELIC_CONFIG_FILE:
        return config.NEW_RELIC_CONFIG_FILE
    return SHIPPED_NEW_RELIC_INI if os.path.isfile(SHIPPED_NEW_RELIC_INI) else None


def new_relic_on() -> bool:
    """Return whether ``configure()`` started the New Relic agent in this process."""
    return _new_relic_on


def _ignore_errors_by_status(collector: Any) -> None:
    """Ignore our errors whose status ``ignore_status_codes`` lists (the agent reads only Flask's).

    So ``newrelic.ini`` lists ignored errors one way, by status.
    """
    ignored = collector.ignore_status_codes
    names = [f"{cls.__module__}:{cls.__name__}" for cls in error_classes() if cls.status in ignored]
    collector.ignore_classes = [*collector.ignore_classes, *names]


def configure() -> bool:
    """Set up logging and, when configured, the New Relic agent; return whether it is on."""
    global _configured, _new_relic_on
    if _configured:
        return _new_relic_on
    _configured = True
    logging.basicConfig(level=config.LOG_LEVEL, format=config.LOG_FORMAT)
    if config.NEW_RELIC_LICENSE_KEY or config.NEW_RELIC_CONFIG_FILE:
        import newrelic.agent

        settings_file = new_relic_config_file()
        newrelic.agent.initialize(settings_file)
        _ignore_errors_by_status(newrelic.agent.global_settings().error_collector)
        _new_relic_on = True
        logger.info("New Relic agent initialised (settings: %s)", settings_file or "environment")
    else:
        logger.info("New Relic is off: set NEW_RELIC_LICENSE_KEY or NEW_RELIC_CONFIG_FILE")
    return _new_relic_on
