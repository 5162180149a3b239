"""An archiver killed mid-batch: ``python test/archive_child.py NOW RETENTION HISTORY_CAP BATCH``.

It runs one archive pass whose ``after_insert`` hook SIGKILLs the process, so it
dies after SQL has committed the first batch and before Redis forgot it.
"""

import os
import signal
import sys

from batfriend.startup import configure

configure()

from batfriend.archiver import Archiver  # noqa: E402


def main():
    now, retention, cap, batch = float(sys.argv[1]), float(sys.argv[2]), *map(int, sys.argv[3:5])

    def die(messages):
        os.kill(os.getpid(), signal.SIGKILL)

    Archiver(retention, cap, batch, after_insert=die).archive_pass(now=now)


if __name__ == "__main__":
    main()
