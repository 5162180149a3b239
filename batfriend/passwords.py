"""Password hashing with scrypt and a per-agent random salt.

Parameters: N=2**14, r=8, p=1, 16-byte salt, 32-byte key (about 16 MiB and
tens of milliseconds per hash). They are stored in each hash string, so they
can be raised later without breaking old passwords.
"""

import base64
import hashlib
import hmac
import secrets

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=2**26
    )


def hash_password(password: str) -> str:
    """Return ``scrypt$N$r$p$salt$key`` (base64 parts) for storing."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, key)]
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), *encoded])


# Verified against when the username is unknown, so both failures cost one scrypt.
_DECOY_HASH = hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str | None) -> bool:
    """Return whether ``password`` matches ``stored``; None spends the same time and fails."""
    scheme, n, r, p, salt, key = (stored or _DECOY_HASH).split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, base64.b64decode(key)) and stored is not None
