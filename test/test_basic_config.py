import os
import subprocess
import sys
from pathlib import Path

import pytest

from base_test import TestBase

pytestmark = pytest.mark.slow  # starts processes

NEW_RELIC_INI = """[newrelic]
app_name = batfriend-test
developer_mode = true
monitor_mode = false
log_file = stderr
log_level = warning
"""


def import_basic_config(**env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEW_RELIC")}
    environment.update(env)
    code = (
        "import basic_config, sys\n"
        "print('newrelic.agent' in sys.modules and __import__('newrelic.agent').agent"
        ".global_settings().developer_mode)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )


class TestBasicConfig(TestBase):
    def test_new_relic_off_by_default(self):
        result = import_basic_config()
        assert result.returncode == 0, result.stderr
        assert "New Relic is off" in result.stderr
        assert result.stdout.strip() == "False"

    def test_new_relic_on_with_a_config_file(self, tmp_path):
        ini = tmp_path / "newrelic.ini"
        ini.write_text(NEW_RELIC_INI)
        result = import_basic_config(NEW_RELIC_CONFIG_FILE=str(ini))
        assert result.returncode == 0, result.stderr
        assert "New Relic agent initialised" in result.stderr
        assert result.stdout.strip() == "True"
