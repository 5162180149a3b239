"""Every Redis key name, built here and nowhere else: one class per key family.

A family's keys all start with its ``PREFIX``, the prefix its model passes to
``get_redis`` (so the shard map moves a family whole). Builders are static:
learning a key name constructs nothing. User-chosen names (usernames, lobby
names, message ids) never contain ``:`` or braces, and a name sits either right
after the prefix or after a fixed kind word; a system key is spelt so that no
name can equal or start it (``agent::index``), which ``test/test_keys.py``
proves for every builder here.

Redis Cluster: every agent, lobby, phone book and worklist has a home bucket (one
of ``BUCKETS``, from a CRC-32 of its name), and each of its keys carries that
bucket's hash tag, so a script over one entity's keys stays in one slot. The
indexes that span entities (agents, inboxes due for archiving, watermarks,
overflowing lobbies) are one per bucket, beside the entities they index. The
tags are precomputed so that bucket ``b`` hashes to slot ``64 * b``: spread
evenly over the 16,384 slots. On a single Redis the tags change nothing.
"""

import functools
import re
import zlib

BUCKETS = 256
# TAGS[b] is a string whose CRC-16 slot is 64 * b (found once by search; test_keys checks).
TAGS = tuple(
    (
        "la2 qfs ht4 dqe nbd bg5 jwb fr3 ms3 avb if5 ecd ope cu4 kec 2jb dlj qb3 hpt l85 3el "
        "bcu 7pj fvs mws pp2 akm te4 g95 cqt zc3 x3 qf7 dhn lx9 htp bgq fk8 frw 7tn pt6 ezo "
        "mj8 aoi cup ex oin zg7 qbw le6 dua hp0 bc1 fox fv7 jsf arf mw7 mnx ib1 cq0 a8 xw kag "
        "lp0 h8q he6 ubw nsf bv7 box fc1 mb1 inx iw7 erf 06 cd6 c9q mq ltp hx9 hav uf7 3tn brw "
        "bk8 fgq eoi ij8 azo tt6 4v kin cy9 i1 h85 dyl ub3 her bvs 3pj fcu 7el pe4 ekm tp2 iws "
        "cdr tz m5 c95 qsu lt4 ddc ha2 br3 nwb fg5 jbd acd mf5 evb is3 6jb 42 iu kpe fjl sd5 "
        "jvr wq3 1cj hlk yw4 dpu gxm k94 cmk 9k 0qk awr xe5 ebt ng4 bbe jr2 fwc dmz 5kc hqd "
        "dt5 ou5 cpd aaqr geb mvc as2 ice ef4 bfa nc0 fsg jv6 5og ukn dp1 h1h c0h dh gaf kd7 "
        "aw6 mrg eb0 any jk9 fnh wu7 jrv hho 1gn dtq ys0 ky8 g8a yg cio asv 0uo efp aj9 nrv "
        "su7 bnh nk9 dx8 h9a yf6 daw gio rg6 c8a la ej9 afp xt7 esv nv6 bsg jc0 ffa d8p 5za "
        "qkn de7 qn caf kq1 g0h eny ab0 irg ew6 bwc nr2 fbe jg4 abll lqd da3 hdb ceb uj gpd "
        "ku5 af4 mce es2 ivc sq3 nvr wd5 bjl hym d84 des yb2 rc2 gmk he cxm abt 0dm ewr xp3"
    ).split()
)


def bucket_of(name: str) -> int:
    """Return the home bucket of an agent, lobby, phone book or worklist named ``name``."""
    return zlib.crc32(name.encode()) % BUCKETS


def tag(bucket: int) -> str:
    """Return the hash tag of ``bucket``: ``{...}`` with its precomputed slot."""
    return "{" + TAGS[bucket] + "}"


@functools.lru_cache(maxsize=4096)
def home(name: str) -> str:
    """Return the hash tag of the home bucket of ``name`` (remembered: a request names the
    same agents in several keys; bounded, as names are the users')."""
    return tag(bucket_of(name))


class AgentKeys:
    """``agent:``: one hash per agent, and per bucket the index of its agents' usernames."""

    PREFIX = "agent:"

    @staticmethod
    def agent(username: str) -> str:
        """The agent's hash (username, display name, created at, password hash)."""
        return f"agent:{home(username)}{username}"

    @staticmethod
    def index(bucket: int) -> str:
        """The ZSET of the usernames of a bucket's agents, scored by creation time."""
        return f"agent::index:{tag(bucket)}"


class SessionKeys:
    """``session:``: one key per live login token, named by its SHA-256."""

    PREFIX = "session:"

    @staticmethod
    def session(digest: str) -> str:
        """The username a token (by its hex SHA-256 ``digest``) logs in."""
        return f"session:{digest}"


class RateKeys:
    """``rate:``: a fixed-window counter, or a sliding quota's buckets, per ``kind`` and subject."""

    PREFIX = "rate:"

    @staticmethod
    def counter(kind: str, subject: str) -> str:
        """The hits ``subject`` made in the current window of limit ``kind``."""
        return f"rate:{kind}:{subject}"

    @staticmethod
    def buckets(kind: str, subject: str) -> str:
        """HASH of ``subject``'s counts per bucket of time, for the sliding quota ``kind``."""
        return f"rate:{kind}-buckets:{subject}"


class MsgKeys:
    """``msg:``: inboxes, friends, scheduled messages, and per bucket the archive's indexes."""

    PREFIX = "msg:"
    SCHEDULED = "msg:scheduled:"

    @staticmethod
    def friends(username: str) -> str:
        """ZSET of an agent's friends, scored by when the friendship began."""
        return f"msg:friends:{home(username)}{username}"

    @staticmethod
    def requests_in(username: str) -> str:
        """ZSET of the friend requests an agent received."""
        return f"msg:requests-in:{home(username)}{username}"

    @staticmethod
    def requests_out(username: str) -> str:
        """ZSET of the friend requests an agent sent."""
        return f"msg:requests-out:{home(username)}{username}"

    @staticmethod
    def pairs(username: str) -> str:
        """HASH other agent -> stamp of the last change between them on this agent's side."""
        return f"msg:pairs:{home(username)}{username}"

    @staticmethod
    def inbox(owner: str) -> str:
        """ZSET of an inbox's ids, all scored 0 (walked by lex)."""
        return f"msg:inbox:{home(owner)}{owner}"

    @staticmethod
    def bodies(owner: str) -> str:
        """HASH of an inbox's messages: id -> stored Message (JSON, or msgpack before)."""
        return f"msg:bodies:{home(owner)}{owner}"

    @staticmethod
    def unread(owner: str) -> str:
        """SET of an inbox's unread ids."""
        return f"msg:unread:{home(owner)}{owner}"

    @staticmethod
    def sent(sender: str) -> str:
        """ZSET of a sender's sends in the last minute (the send limit's window)."""
        return f"msg:sent:{home(sender)}{sender}"

    @staticmethod
    def once(sqs_id: str) -> str:
        """The message id an outside (SQS) message id was bound to."""
        return f"msg:once:{sqs_id}"

    @staticmethod
    def scheduled(sender: str, message_id: str) -> str:
        """A message waiting for its ``deliver_at`` (JSON; msgpack before), in its sender bucket."""
        return f"{MsgKeys.SCHEDULED}{home(sender)}{message_id}"

    @staticmethod
    def archive_due(bucket: int) -> str:
        """ZSET of a bucket's inboxes by the millisecond of their oldest message in Redis."""
        return f"msg:archive:due:{tag(bucket)}"

    @staticmethod
    def watermarks(bucket: int) -> str:
        """ZSET owner -> newest millisecond ever archived from that inbox, per bucket."""
        return f"msg:archive:newest:{tag(bucket)}"


class LobbyKeys:
    """``lobby:``: four keys per lobby, and per bucket the archiver's overflowing lobbies."""

    PREFIX = "lobby:"
    MEMBERS_SUFFIX = ":members"

    @staticmethod
    def info(lobby: str) -> str:
        """HASH created_at and posted (messages ever posted)."""
        return f"lobby:{home(lobby)}{lobby}:info"

    @staticmethod
    def members(lobby: str) -> str:
        """ZSET of members, scored by when each was last seen."""
        return f"lobby:{home(lobby)}{lobby}{LobbyKeys.MEMBERS_SUFFIX}"

    @staticmethod
    def history(lobby: str) -> str:
        """ZSET of the recent ids, all scored 0 (walked by lex)."""
        return f"lobby:{home(lobby)}{lobby}:history"

    @staticmethod
    def bodies(lobby: str) -> str:
        """HASH of the recent messages: id -> stored Message (JSON, or msgpack before)."""
        return f"lobby:{home(lobby)}{lobby}:bodies"

    @staticmethod
    def overflowing(bucket: int) -> str:
        """ZSET of a bucket's lobbies past their history cap (``_`` is never in a lobby name)."""
        return f"lobby:_overflowing:{tag(bucket)}"


class PhoneKeys:
    """``<book>:`` (``phone:`` in production): one phone book, its two hashes and its lock."""

    @staticmethod
    def owners(book: str) -> str:
        """HASH number -> username."""
        return f"{book}:{home(book)}owners"

    @staticmethod
    def agents(book: str) -> str:
        """HASH username -> number."""
        return f"{book}:{home(book)}agents"

    @staticmethod
    def lock(book: str) -> str:
        """The redis-py lock that serialises changes."""
        return f"{book}:{home(book)}lock"


class WorkKeys:
    """``work:``: five keys per worklist bucket, under ``work:<worklist>:<bucket's tag>``."""

    PREFIX = "work:"

    @staticmethod
    def prefix(worklist: str) -> str:
        """The prefix of one worklist's keys (its family, for ``get_redis``)."""
        return f"work:{worklist}:"

    @staticmethod
    def due(worklist: str, bucket: int) -> str:
        """ZSET id -> due time."""
        return f"work:{worklist}:{tag(bucket)}due"

    @staticmethod
    def leased(worklist: str, bucket: int) -> str:
        """ZSET id -> lease deadline."""
        return f"work:{worklist}:{tag(bucket)}leased"

    @staticmethod
    def payloads(worklist: str, bucket: int) -> str:
        """HASH id -> payload."""
        return f"work:{worklist}:{tag(bucket)}payloads"

    @staticmethod
    def attempts(worklist: str, bucket: int) -> str:
        """HASH id -> failed attempts."""
        return f"work:{worklist}:{tag(bucket)}attempts"

    @staticmethod
    def dead(worklist: str, bucket: int) -> str:
        """ZSET id -> when it was dead-lettered."""
        return f"work:{worklist}:{tag(bucket)}dead"


class SweepKeys:
    """``watcher:``: the sweep's SCAN cursors."""

    PREFIX = "watcher:"

    @staticmethod
    def cursors() -> str:
        """HASH (a Redis's or cluster node's swept prefixes) -> its SCAN cursor."""
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

# Worklists whose items a script in the ``msg:`` family adds in the same call as its own writes.
DELIVERY = "delivery"
FRIENDS_REPAIR = "friends"
# Groups of families whose keys one script uses together: a shard map must send each group to
# one Redis (``config`` refuses one that splits a group).
SHARED_SLOTS: tuple[tuple[str, ...], ...] = (
    (MsgKeys.PREFIX, WorkKeys.prefix(DELIVERY)),
    (MsgKeys.PREFIX, WorkKeys.prefix(FRIENDS_REPAIR)),
)


class OldKeys:
    """Names before bucketed keys (no hash tags, one index each), for ``batfriend.migrate``."""

    # Old indexes (ZSETs of names), each split by its members' buckets.
    INDEXES = {
        "agent:index": AgentKeys.index,
        "agent::index": AgentKeys.index,
        "msg:archive:due": MsgKeys.archive_due,
        "msg:archive:newest": MsgKeys.watermarks,
        "lobby:_overflowing": LobbyKeys.overflowing,
    }
    # Old per-entity names: a pattern and the builder of the new name from its one group.
    RENAMES = (
        (re.compile(r"agent:([^:{]+)"), AgentKeys.agent),
        (re.compile(r"msg:friends:([^:{]+)"), MsgKeys.friends),
        (re.compile(r"msg:requests-in:([^:{]+)"), MsgKeys.requests_in),
        (re.compile(r"msg:requests-out:([^:{]+)"), MsgKeys.requests_out),
        (re.compile(r"msg:inbox:([^:{]+)"), MsgKeys.inbox),
        (re.compile(r"msg:bodies:([^:{]+)"), MsgKeys.bodies),
        (re.compile(r"msg:unread:([^:{]+)"), MsgKeys.unread),
        (re.compile(r"msg:sent:([^:{]+)"), MsgKeys.sent),
        (re.compile(r"lobby:([^:{_][^:{]*):info"), LobbyKeys.info),
        (re.compile(r"lobby:([^:{_][^:{]*):members"), LobbyKeys.members),
        (re.compile(r"lobby:([^:{_][^:{]*):history"), LobbyKeys.history),
        (re.compile(r"lobby:([^:{_][^:{]*):bodies"), LobbyKeys.bodies),
        (re.compile(r"(phone):owners"), PhoneKeys.owners),
        (re.compile(r"(phone):agents"), PhoneKeys.agents),
    )
    SCHEDULED = re.compile(r"msg:scheduled:([^:{]+)")
    WORKLIST = re.compile(r"work:([a-z0-9_-]+):(due|leased|payloads|attempts|dead)")

    @staticmethod
    def scheduled(message_id: str) -> str:
        """A waiting message's old record."""
        return f"msg:scheduled:{message_id}"

    @staticmethod
    def work(worklist: str, kind: str) -> str:
        """One of an old worklist's five keys (``due``, ``leased``, ...)."""
        return f"work:{worklist}:{kind}"
