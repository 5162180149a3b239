"""The first import of every service entry: logging, then New Relic when configured."""

from batfriend.startup import configure

NEW_RELIC_ON = configure()
