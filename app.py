"""The WSGI entry point: uWSGI and Elastic Beanstalk load ``app:application``."""

import gc

import basic_config  # noqa: F401  (logging and New Relic come before Flask)
from batfriend.api import create_app
from batfriend.durability import warn_if_volatile

application = create_app()
warn_if_volatile()
# The app's modules and objects live as long as the worker: keep them out of every
# garbage collection, so collections stay short (CPU per request, p99).
gc.freeze()
