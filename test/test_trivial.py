from base_test import TestBase
from batfriend import DECOY_STRING


class TestTrivial(TestBase):
    def test_decoy_string(self):
        assert DECOY_STRING == "Hello, world!"
