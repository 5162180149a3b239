import os
import subprocess
import sys

import pytest

from base_test import TestBase

pytestmark = pytest.mark.slow  # starts processes


def import_config(**env):
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment.update(env)
    code = (
        "from batfriend import config as c;"
        "print(c.PORT, c.BATFRIEND_EXPOSE_SQS, c.BATFRIEND_REDIS_SHARDS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )


class TestConfig(TestBase):
    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("LOG_LEVEL", "LOUD"),
            ("BATFRIEND_EXPOSE_SQS", "maybe"),
            ("REDIS_URL", "localhost:6379"),
            ("BATFRIEND_REDIS_SHARDS", "msg:redis://x"),
            ("BATFRIEND_REDIS_SHARDS", "work:=redis://10.0.0.2:6379/0"),
            ("REDIS_URL", "redis+cluster://10.0.0.1:7000/3"),
            ("BATFRIEND_REDIS_TIMEOUT", "-1"),
            ("DATABASE_URL", "not a url"),
            ("BATFRIEND_WATCHER_TICK", "0"),
            ("BATFRIEND_WORKLIST_LEASE", "soon"),
            ("BATFRIEND_WORKLIST_ATTEMPTS", "0"),
            ("BATFRIEND_SWEEP_KEYS", "1.5"),
            ("BATFRIEND_SQS_PASS_SECONDS", "-3"),
            ("BATFRIEND_SEND_LIMIT_PER_MINUTE", "lots"),
            ("BATFRIEND_SEND_LIMIT_PER_MINUTE", "0"),
            ("BATFRIEND_RETENTION_SECONDS", "30d"),
            ("BATFRIEND_ARCHIVE_INTERVAL", "0"),
        ],
    )
    def test_malformed_variable_fails_fast_naming_it(self, name, value):
        result = import_config(**{name: value})
        assert result.returncode != 0
        assert f"ConfigError: environment variable {name}=" in result.stderr

    def test_values_are_parsed(self):
        result = import_config(
            PORT="9000",
            BATFRIEND_EXPOSE_SQS="1",
            BATFRIEND_REDIS_SHARDS="msg:=redis://10.0.0.2:6379/0, work:=redis://10.0.0.2:6379/0, "
            "lobby:=redis+cluster://10.0.0.3:7000",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            "9000 True {'msg:': 'redis://10.0.0.2:6379/0', 'work:': 'redis://10.0.0.2:6379/0', "
            "'lobby:': 'redis+cluster://10.0.0.3:7000'}"
        )

    def test_defaults(self):
        result = import_config(PORT="", BATFRIEND_EXPOSE_SQS="", BATFRIEND_REDIS_SHARDS="")
        assert result.stdout.strip() == "8087 False {}"

    def test_worker_values_are_parsed(self):
        code = (
            "from batfriend import config as c;"
            "print(c.BATFRIEND_WATCHER_TICK, c.BATFRIEND_WORKLIST_LEASE,"
            " c.BATFRIEND_WORKLIST_ATTEMPTS, c.BATFRIEND_SWEEP_KEYS, c.BATFRIEND_SQS_PASS_SECONDS)"
        )
        env = dict(
            os.environ,
            BATFRIEND_WATCHER_TICK="0.5",
            BATFRIEND_WORKLIST_LEASE="30",
            BATFRIEND_WORKLIST_ATTEMPTS="7",
            BATFRIEND_SWEEP_KEYS="250",
            BATFRIEND_SQS_PASS_SECONDS="",
        )
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True
        )
        assert result.stdout.strip() == "0.5 30.0 7 250 20.0", result.stderr

    def test_archive_values_are_parsed_with_defaults(self):
        code = (
            "from batfriend import config as c;"
            "print(c.BATFRIEND_RETENTION_SECONDS, c.BATFRIEND_ARCHIVE_INTERVAL)"
        )
        for env, expected in (
            (
                {"BATFRIEND_RETENTION_SECONDS": "", "BATFRIEND_ARCHIVE_INTERVAL": ""},
                "2592000.0 60.0",
            ),
            (
                {"BATFRIEND_RETENTION_SECONDS": "3600", "BATFRIEND_ARCHIVE_INTERVAL": "5"},
                "3600.0 5.0",
            ),
        ):
            result = subprocess.run(
                [sys.executable, "-c", code],
                env=dict(os.environ, **env),
                capture_output=True,
                text=True,
            )
            assert result.stdout.strip() == expected, result.stderr
