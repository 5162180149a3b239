"""``Archiver``: moves old inbox messages and lobby overflow from Redis to SQL, in batches.

A batch leaves Redis only after SQL has committed it, and inserts skip ids
already archived, so a crash anywhere loses and duplicates nothing, and several
archivers may run at once.
"""

import math
import time
from collections.abc import Callable

from batfriend import config
from batfriend.archive.store import Archive
from batfriend.lobby import HISTORY_CAP, Lobby
from batfriend.message import Message
from batfriend.messages import Messages

# Ids one Lua call removes at most (Lua's unpack has a limit of a few thousand).
MAX_BATCH = 2000


class Archiver:
    """Archives inbox messages older than ``retention`` seconds and lobby history past the cap.

    ``retention`` defaults to ``BATFRIEND_RETENTION_SECONDS``; ``history_cap`` is the
    number of recent messages a lobby keeps in Redis. ``after_insert``, if given,
    is called with each batch after SQL has committed it and before Redis
    forgets it: crash tests inject their fault there.
    """

    def __init__(
        self,
        retention: float | None = None,
        history_cap: int = HISTORY_CAP,
        batch: int = 500,
        after_insert: Callable[[list[Message]], None] | None = None,
    ) -> None:
        self._retention = config.BATFRIEND_RETENTION_SECONDS if retention is None else retention
        if self._retention <= 0 or history_cap < 1 or not 1 <= batch <= MAX_BATCH:
            raise ValueError(
                f"an archiver needs a positive retention, history_cap >= 1 and 1 <= batch <= "
                f"{MAX_BATCH}"
            )
        self._history_cap = history_cap
        self._batch = batch
        self._after_insert = after_insert
        self._archive = Archive()

    def _lobby_overflow(self) -> list[Message]:
        return Lobby.archivable(self._history_cap, self._batch)

    def _forget_lobby_overflow(self, messages: list[Message]) -> int:
        return Lobby.forget(messages, self._history_cap)

    @property
    def retention(self) -> float:
        """Seconds an inbox message stays in Redis before it is archived."""
        return self._retention

    def archive_pass(self, now: float | None = None, budget: float | None = None) -> int:
        """Move due messages to SQL, batch by batch, until none is left or ``budget`` s pass.

        Inboxes and lobbies take turns. Returns how many messages left Redis. SQL
        or Redis being unreachable raises (after the batches already done), with
        every message of the failed batch still in Redis.
        """
        when = time.time() if now is None else now
        deadline = math.inf if budget is None else time.monotonic() + budget
        busy = [
            (lambda: Messages.archivable(when - self._retention, self._batch), Messages.forget),
            (self._lobby_overflow, self._forget_lobby_overflow),
        ]
        moved = 0
        while busy:
            for source in list(busy):
                take, forget = source
                messages = take()
                if not messages:
                    busy.remove(source)
                    continue
                self._archive.add(messages)
                if self._after_insert is not None:
                    self._after_insert(messages)
                moved += forget(messages)
                if time.monotonic() >= deadline:
                    return moved
        return moved
