"""New Relic for work outside requests: background tasks and custom metrics.

Every helper is a no-op costing one call when the agent is off, so callers never check.
"""

import contextlib
from collections.abc import Iterator

from batfriend import startup

TRANSACTION_GROUP = "Watcher"
METRIC_PREFIX = "Custom/batfriend/"


def register_application(timeout: float = 10.0) -> None:
    """Connect to New Relic now (at most ``timeout`` s), so the first passes are recorded too."""
    if not startup.new_relic_on():
        return
    import newrelic.agent

    newrelic.agent.register_application(timeout=timeout)


def active() -> bool:
    """Return whether metrics are recorded, so callers skip work that only feeds them."""
    return startup.new_relic_on()


@contextlib.contextmanager
def background_task(name: str) -> Iterator[None]:
    """Record the block as the background transaction ``OtherTransaction/Watcher/<name>``."""
    if not startup.new_relic_on():
        yield
        return
    import newrelic.agent

    with newrelic.agent.BackgroundTask(newrelic.agent.application(), name, group=TRANSACTION_GROUP):
        yield


def record_metrics(values: dict[str, float]) -> None:
    """Record one value of each custom metric ``Custom/batfriend/<name>`` in ``values``."""
    if not startup.new_relic_on():
        return
    import newrelic.agent

    metrics = [(METRIC_PREFIX + name, value) for name, value in values.items()]
    if newrelic.agent.current_transaction() is not None:
        newrelic.agent.record_custom_metrics(metrics)
    else:
        newrelic.agent.record_custom_metrics(metrics, newrelic.agent.application())


def record_worklist(name: str, depth: int, claimed: int, completed: int) -> None:
    """Record a worklist pass: items waiting, items this pass claimed and completed."""
    record_metrics(
        {
            f"worklist/{name}/depth": depth,
            f"worklist/{name}/claimed": claimed,
            f"worklist/{name}/completed": completed,
        }
    )


def record_archive_lag(seconds: float) -> None:
    """Record how far archiving trails its retention window (age of the oldest due message)."""
    record_metrics({"archive/lag": seconds})
