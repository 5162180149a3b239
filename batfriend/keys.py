"""Every Redis key name, built here and nowhere else: one class per key family.

A family's keys all start with its ``PREFIX``, the prefix its model passes to
``get_redis`` (so the shard map moves a family whole). Builders are static:
learning a key name constructs nothing. User-chosen names (usernames, lobby
names, message ids) never contain ``:``, and a name sits either right after the
prefix or after a fixed kind word; a system key is spelt so that no name can
equal or start it (``agent::index``), which ``test/test_keys.py`` proves for
every builder here.
"""


class AgentKeys:
    """``agent:``: one hash per agent, and the index of every username."""

    PREFIX = "agent:"

    @staticmethod
    def agent(username: str) -> str:
        """The agent's hash (username, display name, created at, password hash)."""
        return f"agent:{username}"

    @staticmethod
    def index() -> str:
        """The ZSET of every username, scored by creation time."""
        return "agent::index"


class SessionKeys:
    """``session:``: one key per live login token, named by its SHA-256."""

    PREFIX = "session:"

    @staticmethod
    def session(digest: str) -> str:
        """The username a token (by its hex SHA-256 ``digest``) logs in."""
        return f"session:{digest}"


class RateKeys:
    """``rate:``: one fixed-window counter per limit ``kind`` and subject."""

    PREFIX = "rate:"

    @staticmethod
    def counter(kind: str, subject: str) -> str:
        """The hits ``subject`` made in the current window of limit ``kind``."""
        return f"rate:{kind}:{subject}"


class MsgKeys:
    """``msg:``: inboxes, friends, scheduled messages and the archive's index of inboxes."""

    PREFIX = "msg:"
    SCHEDULED = "msg:scheduled:"

    @staticmethod
    def friends(username: str) -> str:
        """ZSET of an agent's friends, scored by when the friendship began."""
        return f"msg:friends:{username}"

    @staticmethod
    def requests_in(username: str) -> str:
        """ZSET of the friend requests an agent received."""
        return f"msg:requests-in:{username}"

    @staticmethod
    def requests_out(username: str) -> str:
        """ZSET of the friend requests an agent sent."""
        return f"msg:requests-out:{username}"

    @staticmethod
    def inbox(owner: str) -> str:
        """ZSET of an inbox's ids, all scored 0 (walked by lex)."""
        return f"msg:inbox:{owner}"

    @staticmethod
    def bodies(owner: str) -> str:
        """HASH of an inbox's messages: id -> msgpack."""
        return f"msg:bodies:{owner}"

    @staticmethod
    def unread(owner: str) -> str:
        """SET of an inbox's unread ids."""
        return f"msg:unread:{owner}"

    @staticmethod
    def sent(sender: str) -> str:
        """ZSET of a sender's sends in the last minute (the send limit's window)."""
        return f"msg:sent:{sender}"

    @staticmethod
    def once(sqs_id: str) -> str:
        """The message id an outside (SQS) message id was bound to."""
        return f"msg:once:{sqs_id}"

    @staticmethod
    def scheduled(message_id: str) -> str:
        """A message waiting for its ``deliver_at`` (msgpack)."""
        return f"{MsgKeys.SCHEDULED}{message_id}"

    @staticmethod
    def archive_due() -> str:
        """ZSET of inboxes by the millisecond of their oldest message in Redis."""
        return "msg:archive:due"

    @staticmethod
    def watermarks() -> str:
        """HASH owner -> newest millisecond ever archived from that inbox."""
        return "msg:archive:newest"


class LobbyKeys:
    """``lobby:``: four keys per lobby, and the archiver's flag of overflowing lobbies."""

    PREFIX = "lobby:"
    MEMBERS_SUFFIX = ":members"

    @staticmethod
    def info(lobby: str) -> str:
        """HASH created_at and posted (messages ever posted)."""
        return f"lobby:{lobby}:info"

    @staticmethod
    def members(lobby: str) -> str:
        """ZSET of members, scored by when each was last seen."""
        return f"lobby:{lobby}{LobbyKeys.MEMBERS_SUFFIX}"

    @staticmethod
    def history(lobby: str) -> str:
        """ZSET of the recent ids, all scored 0 (walked by lex)."""
        return f"lobby:{lobby}:history"

    @staticmethod
    def bodies(lobby: str) -> str:
        """HASH of the recent messages: id -> msgpack."""
        return f"lobby:{lobby}:bodies"

    @staticmethod
    def overflowing() -> str:
        """ZSET of lobbies past their history cap (``_`` is never in a lobby name)."""
        return "lobby:_overflowing"


class PhoneKeys:
    """``<book>:`` (``phone:`` in production): one phone book, its two hashes and its lock."""

    @staticmethod
    def owners(book: str) -> str:
        """HASH number -> username."""
        return f"{book}:owners"

    @staticmethod
    def agents(book: str) -> str:
        """HASH username -> number."""
        return f"{book}:agents"

    @staticmethod
    def lock(book: str) -> str:
        """The redis-py lock that serialises changes."""
        return f"{book}:lock"


class WorkKeys:
    """``work:``: five keys per worklist, under ``work:<worklist>:``."""

    PREFIX = "work:"

    @staticmethod
    def prefix(worklist: str) -> str:
        """The prefix of one worklist's keys (its family, for ``get_redis``)."""
        return f"work:{worklist}:"

    @staticmethod
    def due(worklist: str) -> str:
        """ZSET id -> due time."""
        return f"work:{worklist}:due"

    @staticmethod
    def leased(worklist: str) -> str:
        """ZSET id -> lease deadline."""
        return f"work:{worklist}:leased"

    @staticmethod
    def payloads(worklist: str) -> str:
        """HASH id -> payload."""
        return f"work:{worklist}:payloads"

    @staticmethod
    def attempts(worklist: str) -> str:
        """HASH id -> failed attempts."""
        return f"work:{worklist}:attempts"

    @staticmethod
    def dead(worklist: str) -> str:
        """ZSET id -> when it was dead-lettered."""
        return f"work:{worklist}:dead"


class SweepKeys:
    """``watcher:``: the sweep's SCAN cursors."""

    PREFIX = "watcher:"

    @staticmethod
    def cursors() -> str:
        """HASH (a Redis's swept prefixes) -> its SCAN cursor."""
        return "watcher:sweep"


class SqsKeys:
    """``sqs:``: the ledger of SQS message ids."""

    PREFIX = "sqs:"

    @staticmethod
    def mark(sqs_id: str) -> str:
        """``running:<token>`` or ``done`` for one SQS message id."""
        return f"sqs:msg:{sqs_id}"


class CounterKeys:
    """``<name>:``: a ``Counter``'s family is its (code-chosen) name."""

    @staticmethod
    def count(counter: str) -> str:
        """The counter's value."""
        return f"{counter}:count"


FAMILIES = (
    AgentKeys,
    SessionKeys,
    RateKeys,
    MsgKeys,
    LobbyKeys,
    PhoneKeys,
    WorkKeys,
    SweepKeys,
    SqsKeys,
    CounterKeys,
)

# System keys renamed since an earlier release, each a ZSET: old name -> (family prefix, new name).
# ``batfriend.migrate`` moves them.
RENAMED = {"agent:index": (AgentKeys.PREFIX, AgentKeys.index())}

# Groups of families whose keys one script uses together: a shard map must send each group to
# one Redis (``config`` refuses one that splits a group).
SHARED_SLOTS: tuple[tuple[str, ...], ...] = ()
