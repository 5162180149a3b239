"""Properties (hypothesis) of field validation and of paging: for every input, not a few."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base_test import flush_test_redis
from batfriend.api.validation import get_int, get_str, get_str_list, get_time
from batfriend.errors import BadRequest
from batfriend.message import Message
from batfriend.messages import Messages
from paging import page_all

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def outcome(check, value):
    """Return what ``check`` returns for ``{"f": value}``, or BadRequest; anything else fails."""
    try:
        return check({"f": value})
    except BadRequest as refused:
        assert refused.field == "f"
        return BadRequest


@given(JSON)
def test_get_int_returns_an_int_in_bounds_or_refuses(value):
    result = outcome(lambda body: get_int(body, "f", minimum=1, maximum=100), value)
    assert result is BadRequest or (type(result) is int and 1 <= result <= 100)


@given(JSON)
def test_get_str_returns_a_bounded_str_or_refuses(value):
    result = outcome(lambda body: get_str(body, "f", min_length=2, max_length=5), value)
    assert result is BadRequest or (type(result) is str and 2 <= len(result) <= 5)


@given(JSON)
def test_get_time_returns_a_finite_non_negative_float_or_refuses(value):
    result = outcome(lambda body: get_time(body, "f"), value)
    assert result is BadRequest or (type(result) is float and math.isfinite(result) and result >= 0)


@given(JSON)
def test_get_str_list_returns_bounded_strings_or_refuses(value):
    result = outcome(lambda body: get_str_list(body, "f", max_items=3, max_length=4), value)
    assert result is BadRequest or (
        type(result) is list
        and 1 <= len(result) <= 3
        and all(type(item) is str and 1 <= len(item) <= 4 for item in result)
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=40),
    st.integers(min_value=1, max_value=7),
)
def test_paging_returns_every_message_once_newest_first(milliseconds, limit):
    flush_test_redis()
    inbox = Messages("bob")
    sent = []
    for offset in milliseconds:  # many share one millisecond: ids still order them
        message = Message.compose("alice", "hi", 1_700_000_000 + offset / 1000, to="bob")
        inbox.deliver(message)
        sent.append(message.id)
    assert [m.id for m in page_all(inbox, limit)] == sorted(sent, reverse=True)
