import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from base_test import TestBase
from batfriend import config, databases
from batfriend.scripts import get_script, lua_source, run_pipeline

REPO = Path(__file__).resolve().parent.parent
LUA_DIR = REPO / "batfriend" / "lua"
LUA_NAMES = sorted(path.stem for path in LUA_DIR.glob("*.lua"))

# Runs in a fresh interpreter whose only batfriend is the unpacked wheel.
USE_INSTALLED_COPY = """
import json, sys
import batfriend
from batfriend.errors import TooManyRequests
from batfriend.rate_limiter import RateLimiter
from batfriend.scripts import lua_source

limiter = RateLimiter("wheel", limit=1, window=60)
limiter.hit("alice")
try:
    limiter.hit("alice")
    refused = False
except TooManyRequests:
    refused = True
print(json.dumps({"file": batfriend.__file__, "refused": refused,
                  "sources": {n: lua_source(n) for n in sys.argv[1:]}}))
"""


# Commands whose every argument is a key, and those with two keys first; any other command
# names one key, first (TIME and the like name none).
ALL_KEYS = {"DEL", "EXISTS", "UNLINK", "TOUCH", "MGET", "SINTER", "SUNION", "SDIFF"}
TWO_KEYS = {"RENAME", "RENAMENX", "SMOVE", "RPOPLPUSH", "LMOVE", "COPY", "ZRANGESTORE"}
NO_KEYS = {"TIME", "PING"}


def call_arguments(source):
    """Yield the argument texts of every redis.call/redis.pcall, split at top-level commas."""
    for match in re.finditer(r"redis\.p?call\(", source):
        depth, at, arguments, start = 1, match.end(), [], match.end()
        while depth:
            char = source[at]
            if char in "({[":
                depth += 1
            elif char in ")}]":
                depth -= 1
            elif char == "," and depth == 1:
                arguments.append(source[start:at].strip())
                start = at + 1
            at += 1
        arguments.append(source[start : at - 1].strip())
        yield arguments


def key_names(source):
    """Names bound to KEYS: ``local a, b = KEYS[1], KEYS[2]`` at the top of a script."""
    names = set()
    for targets, values in re.findall(r"^local ([\w, ]+)=([^\n]+)$", source, re.M):
        for name, value in zip(targets.split(","), values.split(","), strict=False):
            if re.fullmatch(r"KEYS\[\w+\]", value.strip()):
                names.add(name.strip())
    return names


def undeclared_keys(source):
    """Return the key arguments of redis calls that are neither KEYS[...] nor bound to it."""
    names, bad = key_names(source), []
    for arguments in call_arguments(source):
        command = arguments[0].strip("\"'").upper()
        if command in NO_KEYS:
            continue
        keys = (
            arguments[1:] if command in ALL_KEYS else arguments[1 : 3 if command in TWO_KEYS else 2]
        )
        for key in keys:
            if not (re.fullmatch(r"KEYS\[[^\]]+\]", key) or key in names):
                bad.append(f"{command} {key}")
    return bad


class TestLuaFiles:
    def test_redis_calls_name_keys_only_through_keys(self):
        for name in LUA_NAMES:
            assert undeclared_keys(lua_source(name)) == [], name

    def test_the_key_lint_catches_a_built_or_unbound_key(self):
        source = (
            "local inbox, owner = KEYS[1], ARGV[1]\n"
            'redis.call("ZADD", inbox, 0, owner)\n'
            'redis.call("GET", "msg:inbox:" .. owner)\n'
            'redis.call("RENAME", KEYS[2], owner)\n'
            'redis.call("DEL", inbox, ARGV[2])\n'
            'redis.call("TIME")\n'
        )
        assert undeclared_keys(source) == [
            'GET "msg:inbox:" .. owner',
            "RENAME owner",
            "DEL ARGV[2]",
        ]

    def test_every_script_opens_with_its_keys_argv_and_return(self):
        assert LUA_NAMES, "no Lua scripts found"
        for name in LUA_NAMES:
            source = lua_source(name)
            header = "\n".join(line for line in source.splitlines() if line.startswith("--"))
            assert source.startswith("--"), name
            assert re.fullmatch(r"[a-z]+(_[a-z]+)+", name), name
            for used in sorted(set(re.findall(r"(KEYS|ARGV)\[\d+\]", source))):
                assert f"{used}[1]" in header, f"{name}.lua uses {used} without listing it"
            assert "Returns" in header, f"{name}.lua does not say what it returns"


@pytest.mark.slow
class TestInstalledPackage(TestBase):
    def test_scripts_load_from_an_installed_wheel(self, tmp_path):
        dist = tmp_path / "dist"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
            check=True,
            capture_output=True,
            timeout=240,
        )
        (wheel,) = dist.glob("batfriend-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            packed = {name for name in archive.namelist() if name.endswith(".lua")}
            archive.extractall(tmp_path / "site")
        assert packed == {f"batfriend/lua/{name}.lua" for name in LUA_NAMES}

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BATFRIEND_", "PYTHON", "REDIS_"))
        }
        env.update(
            PYTHONPATH=str(tmp_path / "site"),
            REDIS_URL=config.REDIS_URL,
            BATFRIEND_DATA_DIR=str(elsewhere),
        )
        ran = subprocess.run(
            [sys.executable, "-c", USE_INSTALLED_COPY, *LUA_NAMES],
            cwd=elsewhere,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        result = json.loads(ran.stdout)
        assert result["file"] == str(tmp_path / "site" / "batfriend" / "__init__.py")
        assert result["refused"] is True
        assert result["sources"] == {name: lua_source(name) for name in LUA_NAMES}
        assert databases.get_redis("rate:").get("rate:wheel:alice") == b"1"  # refused: not counted


class TestScriptFlush(TestBase):
    def test_a_script_still_works_after_script_flush(self, spare_redis):
        client = databases.redis_client(spare_redis.url)
        hit = get_script(client, "rate_limiter_hit")
        assert hit(keys=["rate:t:a"], args=[5, 60000])[0] == 1
        assert client.script_exists(hit.sha) == [True]

        client.script_flush()
        assert client.script_exists(hit.sha) == [False]

        assert get_script(client, "rate_limiter_hit") is hit
        assert hit(keys=["rate:t:a"], args=[5, 60000])[0] == 1
        assert client.get("rate:t:a") == b"2"
        assert client.script_exists(hit.sha) == [True]

    def test_registered_once_per_client(self, spare_redis):
        ours = databases.redis_client(spare_redis.url)
        other = databases.redis_client(config.REDIS_URL)
        assert get_script(ours, "agent_register") is get_script(ours, "agent_register")
        assert get_script(ours, "agent_register") is not get_script(other, "agent_register")


class TestRunPipeline(TestBase):
    def test_script_calls_go_in_one_round_trip_and_survive_a_script_flush(
        self, spare_redis, round_trips
    ):
        client = databases.redis_client(spare_redis.url)
        hit = get_script(client, "rate_limiter_hit")

        def queue(pipeline):
            hit(keys=["rate:t:a"], args=[5, 60000], client=pipeline)
            pipeline.get("rate:t:a")

        assert run_pipeline(client, queue)[1] == b"1"
        round_trips.clear()
        assert run_pipeline(client, queue)[1] == b"2"
        assert round_trips.names() == [["EVALSHA", "GET"]], "no SCRIPT EXISTS first"
        client.script_flush()
        round_trips.clear()
        assert run_pipeline(client, queue)[1] == b"3", "NOSCRIPT: run once more, whole"
        assert round_trips.names() == [["EVALSHA", "GET"], ["EVAL", "GET"]], "no flush between"
        assert client.script_exists(hit.sha) == [True]
