import time

import pytest

from archive_base import ArchiveTestBase, archived_ids
from batfriend import config
from batfriend.api import create_app
from batfriend.databases import get_redis
from batfriend.keys import MsgKeys
from batfriend.message import Message
from batfriend.messages import Messages
from helpers import assert_envelope, post_task


@pytest.fixture
def sqs_client():
    return create_app(expose_sqs=True).test_client()


def deliver_old(count):
    at = time.time() - 2 * config.BATFRIEND_RETENTION_SECONDS
    sent = [Message.compose("alice", f"m{n}", at + n / 1000, to="bob") for n in range(count)]
    for message in sent:
        Messages("bob").deliver(message)
    return sent


class TestArchiveTask(ArchiveTestBase):
    def test_the_archive_task_moves_old_messages_once(self, sqs_client):
        sent = deliver_old(700)
        response = post_task(sqs_client, "m-1", "archive")
        assert response.status_code == 200 and response.get_json()["ran"] is True
        assert archived_ids(where="bob") == [m.id for m in sent]
        assert get_redis("msg:").zcard(MsgKeys.inbox("bob")) == 0

    def test_sql_down_answers_503_so_sqsd_retries_and_nothing_leaves_redis(
        self, sqs_client, sql_down
    ):
        deliver_old(10)
        sql_down()
        assert_envelope(post_task(sqs_client, "m-1", "archive"), 503, "unavailable")
        assert get_redis("msg:").zcard(MsgKeys.inbox("bob")) == 10
