"""No log line holds a password, a credential URL's secret or a message's text.

One run: credentials in the Redis and SQL URLs (``/ready``, runlocal start-up,
config errors), an SQL failure while archiving a message, and message bodies
through the API; then every captured log line (tracebacks included) is searched
for the secrets.
"""

import logging
import time

import pytest
import sqlalchemy

from archive_base import ArchiveTestBase
from batfriend import config, databases
from batfriend.archiver import Archiver
from batfriend.config import ConfigError
from batfriend.message import Message
from batfriend.messages import Messages
from batfriend.redaction import redact_url
from batfriend.watcher import MessageWatcher
from helpers import Running, wait_until

URL_SECRET = "Sw0rdf1sh-url-secret"
BODY_SECRET = "the-eagle-lands-at-midnight"
PASSWORD = "correct horse battery staple"
SECRETS = (URL_SECRET, BODY_SECRET, PASSWORD)
REDIS_WITH_PASSWORD = f"redis://:{URL_SECRET}@127.0.0.1:1/0"
SQL_WITH_PASSWORD = f"mysql+pymysql://batfriend:{URL_SECRET}@127.0.0.1:1/batfriend"
REFUSE_INSERTS = {
    "sqlite": (
        "CREATE TRIGGER refuse_archive BEFORE INSERT ON archived_inbox_messages "
        "BEGIN SELECT RAISE(ABORT, 'archive refused by the test'); END"
    ),
    "mysql": (
        "CREATE TRIGGER refuse_archive BEFORE INSERT ON archived_inbox_messages "
        "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'archive refused by the test'"
    ),
}


def logged_text(records):
    """Every captured record as a handler would write it, tracebacks included."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in records)


def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked:\n{text}"


class TestRedaction:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            (REDIS_WITH_PASSWORD, "redis://:***@127.0.0.1:1/0"),
            ("rediss://default:pw@cache:6380/1", "rediss://default:***@cache:6380/1"),
            (SQL_WITH_PASSWORD, "mysql+pymysql://batfriend:***@127.0.0.1:1/batfriend"),
            ("unix:///run/redis.sock?db=2&password=pw", "unix:///run/redis.sock?db=2&password=***"),
            (
                "msg:=redis://:a@h1/0,lobby:=redis://:b@h2/0",
                "msg:=redis://:***@h1/0,lobby:=redis://:***@h2/0",
            ),
            (
                "mysql+pymysql://root@127.0.0.1:3306/test",
                "mysql+pymysql://root@127.0.0.1:3306/test",
            ),
            ("sqlite:////var/batfriend.sqlite3", "sqlite:////var/batfriend.sqlite3"),
        ],
    )
    def test_redact_url(self, url, shown):
        assert redact_url(url) == shown

    @pytest.mark.parametrize(
        ("check", "name", "value"),
        [
            (config._redis_url, "REDIS_URL", f"http://:{URL_SECRET}@cache:6379/0"),
            (config._database_url, "DATABASE_URL", f"mysql//u:{URL_SECRET}@db/batfriend"),
        ],
    )
    def test_config_errors_hide_the_password(self, check, name, value):
        with pytest.raises(ConfigError) as error:
            check(name, value)
        assert name in str(error.value) and URL_SECRET not in str(error.value)

    def test_a_malformed_shard_map_hides_the_password(self, monkeypatch):
        monkeypatch.setenv("BATFRIEND_REDIS_SHARDS", f"msg:=redis://:{URL_SECRET}@h/0,msg:=x")
        with pytest.raises(ConfigError) as error:
            config._shards("BATFRIEND_REDIS_SHARDS")
        assert URL_SECRET not in str(error.value)


class TestNothingSecretIsLogged(ArchiveTestBase):
    def test_urls_sql_failures_and_bodies_stay_out_of_the_logs(
        self, client, signup, befriend, caplog, monkeypatch
    ):
        caplog.set_level(logging.DEBUG)
        alice, bob = signup("alice", PASSWORD), signup("bob", PASSWORD)
        befriend("alice", "bob")
        sent = client.post("/messages/send", json={"to": "bob", "body": BODY_SECRET}, headers=alice)
        assert sent.status_code == 201
        bad = {"to": "bob", "body": BODY_SECRET, "cc": BODY_SECRET}
        assert client.post("/messages/send", json=bad, headers=alice).status_code == 400
        client.post("/lobbies/join", json={"lobby": "bats"}, headers=bob)
        client.post("/lobbies/post", json={"lobby": "bats", "body": BODY_SECRET}, headers=bob)
        client.post("/login", json={"username": "alice", "password": PASSWORD + "!"})

        # An SQL failure while archiving an old message whose body is the secret.
        old = time.time() - 3600
        Messages("bob").deliver(Message.compose("alice", BODY_SECRET, old, to="bob"))
        engine = databases.get_engine()
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(REFUSE_INSERTS[engine.dialect.name]))
        try:
            watcher = MessageWatcher({}, {}, archiver=Archiver(retention=60), tick=0.05)
            with Running(watcher):
                wait_until(lambda: "archive refused by the test" in caplog.text)
        finally:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text("DROP TRIGGER refuse_archive"))

        # Both databases behind URLs with passwords, down: /ready logs each.
        monkeypatch.setattr(config, "REDIS_URL", REDIS_WITH_PASSWORD)
        monkeypatch.setattr(config, "DATABASE_URL", SQL_WITH_PASSWORD)
        databases.reset()
        try:
            assert client.get("/ready").status_code == 503
        finally:
            monkeypatch.undo()
            databases.reset()

        text = logged_text(caplog.records)
        assert "readiness: Redis redis://:***@127.0.0.1:1/0 is down" in text
        assert "parameters hidden" in text  # the failed INSERT was logged, without its values
        assert_no_secret(text)
