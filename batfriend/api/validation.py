"""Unpack a JSON request body and check every field's exact type, the seed's way.

Each check raises ``BadRequest`` naming the field, which the error handler
answers as a 400 envelope. Never ``assert``: ``python -O`` strips asserts.
"""

import json
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import flask
from werkzeug.exceptions import UnsupportedMediaType

from batfriend.errors import BadRequest
from batfriend.message import MESSAGE_ID

USERNAME = re.compile(r"[a-z0-9_]{3,32}")
LOBBY_NAME = re.compile(r"[a-z0-9-]{1,32}")
PHONE = re.compile(r"\+[0-9]{8,15}")
# Separators people type inside phone numbers; removed before the E.164 check.
_SEPARATOR_CHARACTERS = " ().-"
PHONE_SEPARATORS = re.compile(f"[{re.escape(_SEPARATOR_CHARACTERS)}]")
_PHONE_RAW_LENGTH = 32
# A whole list of numbers at once: separators dropped, then one match over them all.
_DROP_PHONE_SEPARATORS = str.maketrans("", "", _SEPARATOR_CHARACTERS)
_ITEM_BREAK = "\x00"  # joins the items; no valid number holds it
# Every item followed by the break (the caller appends one), possessive: no backtracking.
PHONE_LIST = re.compile(rf"(?:{PHONE.pattern}+{_ITEM_BREAK})*+")
MAX_PAGE = 100
DEFAULT_PAGE = 50
_ABSENT = object()
# No request needs more than an object holding lists; deeper JSON is refused (400).
MAX_DEPTH = 8
# A lone UTF-16 surrogate is not a Unicode scalar value: JSON's "\ud800" is text no one can store.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _reject_constant(name: str) -> None:
    raise BadRequest(f"{name} is not a number JSON allows; send a finite number")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def json_body(allowed: Iterable[str]) -> dict[str, Any]:
    """Return the request's JSON object, refusing non-JSON, non-objects and unknown fields."""
    request = flask.request._get_current_object()  # one proxy look-up, not one per use
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json")
    data = request.get_data(cache=True)
    try:
        # json.loads's own steps for bytes, with one decoder for every request
        body = _DECODER.decode(data.decode(json.detect_encoding(data), "surrogatepass"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON, or is nested too deep") from None
    if type(body) is not dict:
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}", field=unknown[0])
    # UTF-16 and UTF-32 bodies (the only ones with NUL bytes) spell their escapes differently.
    # (a lone backslash is found at C speed; a two-byte search of 16 KB takes ~15 µs)
    escapes = (b"\\" in data and b"\\u" in data) or b"\x00" in data
    if escapes or data.count(b"[") + data.count(b"{") > MAX_DEPTH:
        _check_text(body, escapes)
    return body


def _check_text(body: dict[str, Any], escapes: bool) -> None:
    """Refuse JSON nested deeper than ``MAX_DEPTH`` and, when ``escapes``, lone surrogates.

    Only a ``\\u`` escape can spell a surrogate (raw bytes would not decode), and
    nesting needs brackets, so the caller skips this walk for plain bodies.
    """
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels")
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            if escapes and (
                (type(key) is str and _SURROGATE.search(key))
                or (type(item) is str and _SURROGATE.search(item))
            ):
                raise BadRequest("the body holds an unpaired UTF-16 surrogate; send valid text")
            if type(item) in (dict, list):
                pending.append((item, depth + 1))


def _field(body: dict[str, Any], name: str, kind: str, required: bool) -> Any:
    """Return the raw value of ``name``; ``_ABSENT`` when optional and absent (null is a value)."""
    if name not in body:
        if required:
            raise BadRequest(f"{name} is required ({kind})", field=name)
        return _ABSENT
    return body[name]


def get_str(
    body: dict[str, Any],
    name: str,
    *,
    min_length: int = 1,
    max_length: int,
    pattern: re.Pattern[str] | None = None,
    required: bool = True,
) -> str | None:
    """Return field ``name`` as a str of bounded length matching ``pattern``."""
    value = _field(body, name, "a string", required)
    if value is _ABSENT:
        return None
    if type(value) is not str:
        raise BadRequest(f"{name} must be a string", field=name)
    if not min_length <= len(value) <= max_length:
        raise BadRequest(f"{name} must be {min_length} to {max_length} characters", field=name)
    if pattern is not None and not pattern.fullmatch(value):
        raise BadRequest(f"{name} must match {pattern.pattern}", field=name)
    return value


def get_int(
    body: dict[str, Any], name: str, *, minimum: int, maximum: int, required: bool = True
) -> int | None:
    """Return field ``name`` as an int (never a bool; 27.0 is 27) within ``[minimum, maximum]``."""
    value = _field(body, name, "an integer", required)
    if value is _ABSENT:
        return None
    if type(value) is float and value.is_integer():
        value = int(value)  # JSON has one number type: 27.0 is the integer 27 (JSON Schema agrees)
    if type(value) is not int:
        raise BadRequest(f"{name} must be an integer", field=name)
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be from {minimum} to {maximum}", field=name)
    return value


def get_time(body: dict[str, Any], name: str, *, required: bool = True) -> float | None:
    """Return field ``name`` as epoch seconds: a finite, non-negative int or float."""
    value = _field(body, name, "a number of seconds since the epoch", required)
    if value is _ABSENT:
        return None
    if type(value) not in (int, float):
        raise BadRequest(f"{name} must be a number of seconds since the epoch", field=name)
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a finite, non-negative number", field=name)
    return float(value)


def get_str_list(
    body: dict[str, Any],
    name: str,
    *,
    min_items: int = 1,
    max_items: int,
    max_length: int,
    pattern: re.Pattern[str] | None = None,
) -> list[str]:
    """Return field ``name`` as a list of strings, each checked like ``get_str``."""
    value = _field(body, name, "a list of strings", True)
    if type(value) is not list:
        raise BadRequest(f"{name} must be a list of strings", field=name)
    if not min_items <= len(value) <= max_items:
        raise BadRequest(f"{name} must hold {min_items} to {max_items} items", field=name)
    for item in value:
        if type(item) is not str or not 1 <= len(item) <= max_length:
            raise BadRequest(
                f"every item of {name} must be a string of 1 to {max_length}", field=name
            )
        if pattern is not None and not pattern.fullmatch(item):
            raise BadRequest(f"every item of {name} must match {pattern.pattern}", field=name)
    return value


def normalise_phone(text: str) -> str | None:
    """Return ``text`` as E.164 once separators are removed, or None if it is not a number."""
    phone = PHONE_SEPARATORS.sub("", text)
    return phone if PHONE.fullmatch(phone) else None


def get_phone(body: dict[str, Any], name: str) -> str:
    """Return field ``name`` as an E.164 phone number, separators (space ( ) . -) removed."""
    phone = normalise_phone(get_str(body, name, max_length=_PHONE_RAW_LENGTH) or "")
    if phone is None:
        raise BadRequest(f"{name} must be an E.164 phone number such as +14155550100", field=name)
    return phone


def _phone_list_at_once(value: Any, max_items: int) -> list[str] | None:
    """Return the list's numbers normalised, in one pass over all of them; None if any is bad."""
    if type(value) is not list or not 1 <= len(value) <= max_items:
        return None
    try:
        joined = _ITEM_BREAK.join(value)
    except TypeError:  # an item is not a str
        return None
    if joined.count(_ITEM_BREAK) != len(value) - 1:  # an item holds the break itself
        return None
    cleaned = joined.translate(_DROP_PHONE_SEPARATORS)
    if not PHONE_LIST.fullmatch(cleaned + _ITEM_BREAK):
        return None
    if len(cleaned) == len(joined):  # no separators: every item is already a short number
        return list(value)
    if max(map(len, value)) > _PHONE_RAW_LENGTH:
        return None
    return cleaned.split(_ITEM_BREAK)


def get_phone_list(body: dict[str, Any], name: str, *, max_items: int) -> list[str]:
    """Return field ``name`` as 1 to ``max_items`` E.164 phone numbers, each normalised.

    The whole list is checked at once; only a bad list is gone through item by item,
    to name what is wrong.
    """
    phones = _phone_list_at_once(body.get(name), max_items)
    if phones is not None:
        return phones
    phones = []
    for index, raw in enumerate(
        get_str_list(body, name, max_items=max_items, max_length=_PHONE_RAW_LENGTH)
    ):
        phone = normalise_phone(raw)
        if phone is None:
            raise BadRequest(
                f"{name}[{index}] must be an E.164 phone number such as +14155550100", field=name
            )
        phones.append(phone)
    return phones


def get_username(body: dict[str, Any], name: str) -> str:
    """Return field ``name`` as a username: 3-32 characters of a-z, 0-9 and _."""
    return get_str(body, name, min_length=3, max_length=32, pattern=USERNAME)


def get_display_name(body: dict[str, Any], name: str) -> str | None:
    """Return optional field ``name`` as 1-64 characters, none a control or format character.

    Categories Cc and Cf hold NUL, newlines and bidi overrides such as U+202E, which
    would let a name hide or reorder the text around it.
    """
    value = get_str(body, name, max_length=64, required=False)
    if value is not None and any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise BadRequest(f"{name} must not hold control or format characters", field=name)
    return value


def get_page(body: dict[str, Any]) -> tuple[str | None, int]:
    """Return a page request's ``(before, limit)``: the cursor, and 1-100 (default 50)."""
    before = get_str(body, "before", max_length=64, pattern=MESSAGE_ID, required=False)
    limit = get_int(body, "limit", minimum=1, maximum=MAX_PAGE, required=False)
    return before, limit or DEFAULT_PAGE
