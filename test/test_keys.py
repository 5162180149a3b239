"""No name a client may choose can spell a system key, in any family (``batfriend.keys``)."""

import functools
import inspect
import re

import pytest
from redis.crc import key_slot

from base_test import TestBase
from batfriend.agency import Agency
from batfriend.api.sqs import MSGID
from batfriend.api.validation import LOBBY_NAME, USERNAME
from batfriend.keys import BUCKETS, FAMILIES, TAGS, AgentKeys, tag
from batfriend.message import MESSAGE_ID
from batfriend.scheduled import DELIVERY

# Each builder parameter, by name: the names that can reach it. A pattern means a
# client chooses it (checked by that pattern first); a tuple lists what code passes.
CHOSEN_BY_CLIENTS = {
    "username": USERNAME,
    "owner": USERNAME,
    "sender": USERNAME,
    "lobby": LOBBY_NAME,
    "message_id": MESSAGE_ID,
    "sqs_id": MSGID,
    "digest": re.compile(r"[0-9a-f]{64}"),
    "subject": re.compile(r".{1,128}", re.DOTALL),
}
CHOSEN_BY_CODE = {
    "kind": ("login", "address", "discover"),
    "worklist": (DELIVERY,),
    "book": ("phone",),
    "bucket": (0, 1, BUCKETS - 1),
}
COUNTER_EXAMPLES = ("stats:logins",)  # a Counter's name is its own family; never a user's
CHOSEN_BY_CODE["counter"] = COUNTER_EXAMPLES
SENTINEL = "\x00"
# One ordinary name for the patterns that no system word can match.
EXAMPLES = {"digest": "0" * 64, "message_id": "1700000000000-000000000001-0123456789"}


def builders():
    """Every key builder: (family, name, function, parameter names)."""
    for family in FAMILIES:
        for name, value in vars(family).items():
            if isinstance(value, staticmethod):
                function = getattr(family, name)
                yield family, name, function, list(inspect.signature(function).parameters)


BUILDERS = list(builders())
# A system key's only parameter, if any, is a bucket: every bucket's copy is a system key.
SYSTEM_KEYS = sorted(
    key
    for _, _, function, params in BUILDERS
    if set(params) <= {"bucket"}
    for key in ([function(b) for b in range(BUCKETS)] if params else [function()])
)
USER_BUILDERS = [
    (f"{family.__name__}.{name}", function, params)
    for family, name, function, params in BUILDERS
    if not set(params) <= {"bucket"}
]


def legit(param):
    return "alice" if param in CHOSEN_BY_CLIENTS else CHOSEN_BY_CODE[param][0]


def adversarial_names(template):
    """Names aimed at the system keys through ``template`` (the key with SENTINEL as the name)."""
    if SENTINEL not in template:  # the name only picks the bucket (a scheduled record's sender)
        return set()
    before, after = template.split(SENTINEL)
    names = {"index", "abc", "a", "_", "-", ":", "::index", "_overflowing", "overflowing"}
    for key in SYSTEM_KEYS:
        names.update(segment for segment in key.split(":") if segment)
        if key.startswith(before):
            rest = key[len(before) :]
            names.update(rest[:n] for n in range(1, len(rest) + 1))
            if after and rest.endswith(after):
                names.add(rest[: -len(after)])
    return names


@functools.cache
def cases():
    """Every (builder, parameter, name, key) the walk tries, built once for the whole module."""
    return tuple(_walk())


def _walk():
    for label, function, params in USER_BUILDERS:
        for n, param in enumerate(params):
            fixed = [legit(p) for p in params]
            if param in CHOSEN_BY_CODE:
                names = set(CHOSEN_BY_CODE[param])
            else:
                fixed[n] = SENTINEL
                pattern = CHOSEN_BY_CLIENTS[param]
                names = {m for m in adversarial_names(function(*fixed)) if pattern.fullmatch(m)}
                names.add(EXAMPLES.get(param, "alice"))
            for name in sorted(names):
                fixed[n] = name
                yield label, param, name, function(*fixed)


def test_every_builder_parameter_says_who_chooses_it():
    for label, _, params in USER_BUILDERS:
        for param in params:
            assert param in CHOSEN_BY_CLIENTS or param in CHOSEN_BY_CODE, (label, param)


def test_families_are_told_apart_by_prefix():
    prefixes = [family.PREFIX for family in FAMILIES if hasattr(family, "PREFIX")]
    prefixes += [f"{name}:" for name in CHOSEN_BY_CODE["book"] + COUNTER_EXAMPLES]
    for a in prefixes:
        for b in prefixes:
            assert a == b or not b.startswith(a), (a, b)
    for family, name, function, params in BUILDERS:
        if hasattr(family, "PREFIX"):
            assert function(*map(legit, params)).startswith(family.PREFIX), name


def test_braces_are_only_the_bucket_tags():
    """A key holds no brace, or exactly one hash tag: a bucket's, precomputed in ``TAGS``."""
    for key in [key for *_, key in cases()] + SYSTEM_KEYS:
        tags = re.findall(r"\{([^{}]*)\}", key)
        assert key.count("{") == key.count("}") == len(tags) <= 1, key
        assert not tags or tags[0] in TAGS, key


def test_bucket_tags_are_spread_evenly_over_the_slots():
    assert len(set(TAGS)) == BUCKETS == 256
    assert [key_slot(tag(bucket).encode()) for bucket in range(BUCKETS)] == [
        64 * bucket for bucket in range(BUCKETS)
    ]


def test_an_entitys_keys_share_its_buckets_slot():
    """Every key of one agent, lobby, phone book or worklist bucket hashes to one slot."""
    slots = {}
    for label, param, name, key in cases():
        if label == "WorkKeys.prefix":  # a prefix, not a key
            continue
        if param in ("username", "owner", "sender", "lobby", "book", "worklist"):
            entity = name if param != "worklist" else f"{name}/0"
            slots.setdefault((param in ("username", "owner", "sender"), entity), set()).add(
                key_slot(key.encode())
            )
    assert slots and all(len(found) == 1 for found in slots.values()), slots


def test_the_walk_reaches_every_system_key_and_the_names_aimed_at_them():
    walked = list(cases())
    assert AgentKeys.index(0) in SYSTEM_KEYS
    assert ("AgentKeys.agent", "username", "index", AgentKeys.agent("index")) in walked
    assert len({label for label, *_ in walked}) == len(USER_BUILDERS)


@pytest.mark.parametrize("system_key", SYSTEM_KEYS)
def test_no_user_key_equals_or_prefixes_a_system_key(system_key):
    clashes = [
        (label, param, name, key)
        for label, param, name, key in cases()
        if system_key.startswith(key) or key.startswith(system_key)
    ]
    assert clashes == []


SYSTEM_WORDS = sorted(
    {segment for key in SYSTEM_KEYS for segment in key.split(":") if USERNAME.fullmatch(segment)}
)


class TestSystemWordsAsNames(TestBase):
    def test_every_system_word_registers_and_works_as_a_username(self, client, signup):
        assert "index" in SYSTEM_WORDS
        headers = {word: signup(word) for word in SYSTEM_WORDS}
        later = signup("zed")
        for word in SYSTEM_WORDS:
            viewed = client.post("/agents/view", json={"username": word}, headers=later)
            assert viewed.status_code == 200, viewed.get_json()
            asked = client.post("/friends/request", json={"username": word}, headers=later)
            assert asked.get_json() == {"status": "requested"}
            accepted = client.post(
                "/friends/accept", json={"username": "zed"}, headers=headers[word]
            )
            assert accepted.status_code == 200, accepted.get_json()
        assert all(Agency().exists(word) for word in [*SYSTEM_WORDS, "zed"])
        listed = client.post("/friends/list", json={}, headers=later).get_json()
        assert sorted(f["username"] for f in listed["friends"]) == SYSTEM_WORDS

    def test_every_system_word_works_as_a_lobby_name(self, client, signup):
        headers = signup("alice")
        words = sorted(
            {s for key in SYSTEM_KEYS for s in re.split("[:_]", key) if LOBBY_NAME.fullmatch(s)}
        )
        for word in words:
            joined = client.post("/lobbies/join", json={"lobby": word}, headers=headers)
            assert joined.status_code == 200, joined.get_json()
            posted = client.post(
                "/lobbies/post", json={"lobby": word, "body": "hi"}, headers=headers
            )
            assert posted.status_code == 201, posted.get_json()
        assert "overflowing" in words
