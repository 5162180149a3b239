"""TestBase: every test starts from empty test Redis instances, and only test instances."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from batfriend import config, databases

# URLs of Redis servers this test run may flush: the harness's own embedded
# Redis, the one named by BATFRIEND_TEST_REDIS_URL, and any a test starts itself.
TEST_REDIS_URLS: set[str] = set()


@contextmanager
def as_the_apps_redis(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the test instance at ``url`` the app's Redis for the block; then undo ``monkeypatch``.

    Every patch the fixture made before is undone with it.
    """
    TEST_REDIS_URLS.add(url)
    monkeypatch.setattr(config, "REDIS_URL", url)
    databases.reset()
    try:
        yield
    finally:
        monkeypatch.undo()
        databases.reset()
        TEST_REDIS_URLS.discard(url)


class NotATestInstance(Exception):
    """A Redis the app uses is not one the harness may flush."""


def flush_test_redis() -> None:
    """Flush every Redis the app uses, after checking that all of them are test instances."""
    urls = databases.redis_urls()
    foreign = [url for url in urls if url not in TEST_REDIS_URLS]
    if foreign:
        raise NotATestInstance(f"refusing to flush {foreign[0]}: it is not a test instance")
    for url in urls:
        databases.redis_client(url).flushdb()


class TestBase:
    """Base class of test classes; ``setUp`` chains with ``super().setUp()``."""

    def setup_method(self, method) -> None:
        self.setUp()

    def setUp(self) -> None:
        flush_test_redis()
