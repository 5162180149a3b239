"""``redact_url``: the one way a URL (or text holding URLs) is shown in logs and messages.

Database URLs carry credentials (``redis://:secret@host``,
``mysql+pymysql://user:secret@host/db``, ``?password=secret``). Everything that
prints a URL passes it through here, so no log line or error holds a password.
"""

import re

MASK = "***"
# user:password@ in a URL's authority (a password holds no "/": URLs percent-encode it);
# the user name is kept: it helps, and is no secret.
_USERINFO_PASSWORD = re.compile(r"(?P<user>[^\s:/@'\"]*):[^\s/@'\"]+@")
# ?password=... and friends in a query string.
_SECRET_PARAMETER = re.compile(
    r"(?P<name>[?&;](?:password|passwd|pwd|secret|token|key)[^=&\s]*=)[^&\s'\"]*", re.IGNORECASE
)


def redact_url(text: str) -> str:
    """Return ``text`` with every password in a URL's user info or query replaced by ``***``."""
    text = _USERINFO_PASSWORD.sub(lambda match: f"{match['user']}:{MASK}@", text)
    return _SECRET_PARAMETER.sub(lambda match: f"{match['name']}{MASK}", text)
