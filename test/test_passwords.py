import pytest

from batfriend import passwords

pytestmark = pytest.mark.real_scrypt


def test_hashes_use_the_production_parameters():
    stored = passwords.hash_password("correct horse battery")
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert passwords.verify_password("correct horse battery", stored)
    assert not passwords.verify_password("correct horse batterY", stored)


def test_each_hash_has_its_own_salt():
    assert passwords.hash_password("same") != passwords.hash_password("same")


def test_an_unknown_agent_is_checked_against_a_full_cost_decoy():
    assert passwords._DECOY_HASH.startswith("scrypt$16384$8$1$")
    assert not passwords.verify_password("anything", None)


def test_hashes_made_with_other_parameters_still_verify(monkeypatch):
    monkeypatch.setattr(passwords, "SCRYPT_N", 2**10)
    stored = passwords.hash_password("pw")
    monkeypatch.undo()
    assert stored.startswith("scrypt$1024$8$1$")
    assert passwords.verify_password("pw", stored)
