"""The WSGI entry point: uWSGI and Elastic Beanstalk load ``app:application``."""

import basic_config  # noqa: F401  (logging and New Relic come before Flask)
from batfriend.api import create_app
from batfriend.durability import warn_if_volatile

application = create_app()
warn_if_volatile()
