import pytest

from base_test import TestBase
from batfriend.api import create_app
from batfriend.api.validation import (
    PHONE,
    USERNAME,
    get_int,
    get_phone,
    get_phone_list,
    get_str,
    get_str_list,
    get_time,
    json_body,
)
from batfriend.errors import BadRequest


@pytest.fixture
def body_of():
    app = create_app()

    def parse(payload, allowed):
        with app.test_request_context("/", method="POST", json=payload):
            return json_body(allowed)

    return parse


class TestValidation(TestBase):
    def test_json_body_rejects_unknown_fields(self, body_of):
        assert body_of({"a": 1}, ["a", "b"]) == {"a": 1}
        with pytest.raises(BadRequest) as caught:
            body_of({"a": 1, "zz": 2}, ["a"])
        assert caught.value.field == "zz"

    def test_get_str(self):
        assert get_str({"u": "bob_1"}, "u", max_length=32, pattern=USERNAME) == "bob_1"
        assert get_str({}, "u", max_length=32, required=False) is None
        for bad in [{"u": 5}, {"u": None}, {"u": "x" * 33}, {"u": "Bob"}, {}]:
            with pytest.raises(BadRequest) as caught:
                get_str(bad, "u", min_length=3, max_length=32, pattern=USERNAME)
            assert caught.value.field == "u"

    def test_get_int_refuses_bools_and_fractions(self):
        assert get_int({"n": 7}, "n", minimum=1, maximum=100) == 7
        assert type(get_int({"n": 7.0}, "n", minimum=1, maximum=100)) is int  # JSON Schema's view
        for bad in [True, 7.5, float("nan"), "7", 0, 101, 101.0]:
            with pytest.raises(BadRequest):
                get_int({"n": bad}, "n", minimum=1, maximum=100)

    def test_get_time(self):
        assert get_time({"t": 1700000000}, "t") == 1700000000.0
        assert get_time({}, "t", required=False) is None
        for bad in [True, "1", -1.0, float("inf"), float("nan")]:
            with pytest.raises(BadRequest):
                get_time({"t": bad}, "t")

    def test_get_str_list(self):
        phones = ["+14155550100", "+442071838750"]
        assert (
            get_str_list({"p": phones}, "p", max_items=1000, max_length=16, pattern=PHONE) == phones
        )
        for bad in ["+1", [], ["+1415555010x"], [5], "+14155550100"]:
            with pytest.raises(BadRequest):
                get_str_list({"p": bad}, "p", max_items=1000, max_length=16, pattern=PHONE)

    def test_an_optional_field_may_be_omitted_but_not_null(self):
        assert get_str({}, "d", max_length=64, required=False) is None
        assert get_int({}, "n", minimum=1, maximum=9, required=False) is None
        assert get_time({}, "t", required=False) is None
        for check in [
            lambda b: get_str(b, "x", max_length=64, required=False),
            lambda b: get_int(b, "x", minimum=1, maximum=9, required=False),
            lambda b: get_time(b, "x", required=False),
        ]:
            with pytest.raises(BadRequest) as caught:
                check({"x": None})
            assert caught.value.field == "x"

    def test_phones_are_normalised_to_e164(self):
        for raw in ["+14155550100", "+1 415 555 0100", "+1 (415) 555-0100", "+1.415.555.0100"]:
            assert get_phone({"p": raw}, "p") == "+14155550100"
        assert get_phone_list({"p": ["+44 20 7183 8750", "+4420-7183-8750"]}, "p", max_items=2) == [
            "+442071838750",
            "+442071838750",
        ]
        for bad in ["14155550100", "+1415555010x", "+1/415/5550100", "++14155550100", " ", ""]:
            with pytest.raises(BadRequest) as caught:
                get_phone({"p": bad}, "p")
            assert caught.value.field == "p"
        with pytest.raises(BadRequest, match=r"p\[1\]"):
            get_phone_list({"p": ["+14155550100", "0800"]}, "p", max_items=5)

    def test_a_phone_list_is_checked_whole_as_each_number_alone(self):
        good = ["+14155550100", "+1 (415) 555-0100", "+44 20.7183.8750", "+123456789012345"]
        expected = [get_phone({"p": raw}, "p") for raw in good]
        assert get_phone_list({"p": good}, "p", max_items=4) == expected
        assert get_phone_list({"p": good[:1] * 3}, "p", max_items=3) == good[:1] * 3
        bad_items = [
            "+14155550100\x00+14155550100",  # the fast path's own item break
            "+1 4 1 5 5 5 5 0 1 0 0 - - - - - - - - - -",  # a number, but 41 characters
            "+1234567",  # too short
            "+1234567890123456",  # too long
            "+١٤١٥٥٥٥٠١٠٠",  # non-ASCII digits
            "+14155550100\n",
            "",
            7,
            None,
        ]
        for bad in bad_items:
            with pytest.raises(BadRequest, match=r"p\[2\]|every item of p") as caught:
                get_phone_list({"p": [good[0], good[1], bad, good[2]]}, "p", max_items=4)
            assert caught.value.field == "p"
        with pytest.raises(BadRequest):
            get_phone_list({"p": good}, "p", max_items=3)
        with pytest.raises(BadRequest):
            get_phone_list({"p": []}, "p", max_items=3)
