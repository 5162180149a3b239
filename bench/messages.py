"""Requests per second and latency of POST /messages/send and /messages/inbox, as ratios.

Both endpoints and the baseline (bare Flask, one Redis INCR per request) are
served the same way, by uWSGI with the production ``uwsgi.ini``: this is
``bench/http.py`` limited to the two messaging endpoints, so the set-up, the
load generator and the report are the same. Run: ``.venv/bin/python -m bench.messages``
(options as for ``bench.http``: ``--seconds``, ``--connections``).
"""

import sys

from bench import http

if __name__ == "__main__":
    http.main(["--only", "/messages/send", "/messages/inbox", *sys.argv[1:]])
