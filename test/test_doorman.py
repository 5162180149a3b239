import pytest

from base_test import TestBase
from batfriend import passwords
from batfriend.agent import Agent
from batfriend.doorman import LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW, Doorman
from batfriend.errors import TooManyRequests, Unauthorized

PASSWORD = "correct horse battery"


@pytest.fixture
def scrypt_calls(monkeypatch):
    """Record the (n, r, p) of every scrypt the password module runs."""
    calls = []
    original = passwords._scrypt

    def counting(password, salt, n, r, p):
        calls.append((n, r, p))
        return original(password, salt, n, r, p)

    monkeypatch.setattr(passwords, "_scrypt", counting)
    return calls


class TestLoginFailures(TestBase):
    def setUp(self):
        super().setUp()
        Agent("alice").register(PASSWORD)

    @pytest.mark.real_scrypt
    def test_unknown_user_and_wrong_password_each_spend_one_full_scrypt(self, scrypt_calls):
        doorman = Doorman()
        with pytest.raises(Unauthorized) as unknown:
            doorman.login("nobody", PASSWORD)
        assert scrypt_calls == [(passwords.SCRYPT_N, passwords.SCRYPT_R, passwords.SCRYPT_P)]
        with pytest.raises(Unauthorized) as wrong:
            doorman.login("alice", "wrong password")
        assert scrypt_calls == [(passwords.SCRYPT_N, passwords.SCRYPT_R, passwords.SCRYPT_P)] * 2
        assert str(unknown.value) == str(wrong.value)

    def test_ten_failures_lock_the_username_out_even_for_the_right_password(self, client):
        for _ in range(LOGIN_FAILURE_LIMIT):
            response = client.post("/login", json={"username": "alice", "password": "guess1234"})
            assert response.status_code == 401
        for password in ["guess1234", PASSWORD]:
            response = client.post("/login", json={"username": "alice", "password": password})
            assert response.status_code == 429
            assert response.get_json()["error"]["code"] == "too_many_requests"
            assert 1 <= int(response.headers["Retry-After"]) <= LOGIN_FAILURE_WINDOW

    def test_a_locked_out_login_spends_no_scrypt(self, scrypt_calls):
        doorman = Doorman()
        for _ in range(LOGIN_FAILURE_LIMIT):
            with pytest.raises(Unauthorized):
                doorman.login("alice", "guess1234")
        scrypt_calls.clear()
        with pytest.raises(TooManyRequests):
            doorman.login("alice", PASSWORD)
        assert scrypt_calls == []

    def test_nine_failures_still_let_the_right_password_in(self):
        doorman = Doorman()
        for _ in range(LOGIN_FAILURE_LIMIT - 1):
            with pytest.raises(Unauthorized):
                doorman.login("alice", "guess1234")
        token, _ = doorman.login("alice", PASSWORD)
        assert doorman.check(token) == "alice"

    def test_the_lock_out_is_per_username_and_covers_unknown_ones(self):
        doorman = Doorman()
        for _ in range(LOGIN_FAILURE_LIMIT):
            with pytest.raises(Unauthorized):
                doorman.login("nobody", "guess1234")
        with pytest.raises(TooManyRequests):
            doorman.login("nobody", "guess1234")
        token, _ = doorman.login("alice", PASSWORD)
        assert doorman.check(token) == "alice"

    def test_successful_logins_are_not_counted(self):
        doorman = Doorman()
        for _ in range(LOGIN_FAILURE_LIMIT + 2):
            doorman.login("alice", PASSWORD)


class TestSessions(TestBase):
    def test_logout_revokes_at_once(self):
        Agent("alice").register(PASSWORD)
        doorman = Doorman()
        token, _ = doorman.login("alice", PASSWORD)
        other, _ = doorman.login("alice", PASSWORD)
        doorman.logout(token)
        with pytest.raises(Unauthorized):
            doorman.check(token)
        assert doorman.check(other) == "alice"

    def test_token_has_at_least_256_bits_and_expires(self):
        Agent("alice").register(PASSWORD)
        doorman = Doorman(ttl=60)
        token, expires_at = doorman.login("alice", PASSWORD, now=1000.0)
        assert expires_at == 1060.0
        assert len(token) >= 43
        assert 0 < doorman._redis.pttl(doorman._session_key(token)) <= 60000
