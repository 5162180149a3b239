"""New Relic for background work: watcher passes as background tasks, and custom metrics.

Web requests need nothing from here: the agent times every Flask request on
its own once ``basic_config`` (``batfriend.startup.configure``) has started
it. Work outside a request does: wrap each pass of the watcher, or each
``/sqs`` task, in ``background_task`` and report what it saw with the
``record_*`` helpers::

    from batfriend import monitoring

    with monitoring.background_task("deliver"):
        claimed = worklist.claim(...)
        ...
        monitoring.record_worklist("deliver", depth=worklist.depth(),
                                   claimed=len(claimed), completed=done)

    with monitoring.background_task("archive"):
        ...
        monitoring.record_archive_lag(now - oldest_unarchived_sent_at)

A pass shows in New Relic as the non-web transaction ``OtherTransaction/Watcher/<name>``;
the metrics as ``Custom/batfriend/worklist/<name>/depth|claimed|completed``
and ``Custom/batfriend/archive/lag`` (averaged, summed and counted per
minute). Recorded inside a pass, a metric belongs to that pass's transaction;
outside one, straight to the application. ``record_metrics`` takes any others.

Every helper is a no-op that costs one function call when the agent is off
(``startup.new_relic_on()`` is false), so callers never check.
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
