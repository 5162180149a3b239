import os
import subprocess
import sys
from pathlib import Path

import pytest

from base_test import TestBase
from batfriend import config, monitoring, startup

ROOT = Path(__file__).resolve().parent.parent

# Offline: developer mode answers for the collector, and no cloud metadata
# service is asked who this host is. The audit log records what would be sent.
OFFLINE = """
app_name = batfriend-test
developer_mode = true
startup_timeout = 10.0
shutdown_timeout = 10.0
utilization.detect_aws = false
utilization.detect_azure = false
utilization.detect_azurefunction = false
utilization.detect_azureappservice = false
utilization.detect_gcp = false
utilization.detect_pcf = false
utilization.detect_docker = false
utilization.detect_kubernetes = false
"""

SCRIPT = """
import basic_config
import newrelic.agent
from app import application
from batfriend import monitoring
from batfriend.watcher import MessageWatcher
from batfriend.worklist import Worklist

watcher = MessageWatcher(handlers={"probe": lambda payload: None})
registered = []


def first_pass(now=None, budget=None):
    registered.append(newrelic.agent.application().active)
    watcher.stop()
    return 0


watcher.deliver_pass = first_pass
watcher.run()
assert registered == [True], "the watcher registers with New Relic before its first pass"

client = application.test_client()
assert client.get("/status").status_code == 200
assert client.post("/agents/view", json={"username": "nobody"}).status_code == 401
Worklist("probe").add("item-1", "payload")
watcher = MessageWatcher(handlers={"probe": lambda payload: None})
assert watcher.deliver_pass() == 1
watcher.sweep_pass()
watcher.archive_pass()
forwarding = newrelic.agent.global_settings().application_logging.forwarding.enabled
newrelic.agent.shutdown_agent(10)
print("served", "forwarding" if forwarding else "no-forwarding")
"""


def run_with_agent(tmp_path):
    """Run SCRIPT under the shipped newrelic.ini plus OFFLINE; return (stdout, audit log)."""
    audit = tmp_path / "audit.log"
    ini = tmp_path / "newrelic.ini"
    shipped = (ROOT / "newrelic.ini").read_text()
    ini.write_text(f"{shipped}\n{OFFLINE}\naudit_log_file = {audit}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEW_RELIC")}
    env.update(
        NEW_RELIC_CONFIG_FILE=str(ini),
        REDIS_URL=config.REDIS_URL,
        DATABASE_URL=config.DATABASE_URL,
        BATFRIEND_DATA_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, audit.read_text()


@pytest.mark.slow
class TestNewRelicDeveloperMode(TestBase):
    def test_app_serves_and_watcher_passes_are_background_tasks(self, tmp_path):
        stdout, audit = run_with_agent(tmp_path)
        assert stdout.strip() == "served no-forwarding"  # the agent forwards no log lines
        assert "'WebTransaction/Function/batfriend.api.service:status'" in audit
        for watcher_pass in ("deliver", "sweep", "archive"):
            assert f"'OtherTransaction/Watcher/{watcher_pass}'" in audit
        for metric in ("worklist/probe/depth", "worklist/probe/completed", "archive/lag"):
            assert f"'Custom/batfriend/{metric}'" in audit
        # newrelic.ini ignores client errors: the 401 is a transaction, not an error.
        assert "'WebTransaction/Function/batfriend.api.agents:view'" in audit
        assert "'error.class': 'batfriend.errors:Unauthorized'" not in audit
        assert "'Errors/all'" not in audit


class TestMonitoringOff(TestBase):
    def test_helpers_do_nothing_without_the_agent(self):
        assert not startup.new_relic_on()
        ran = []
        with monitoring.background_task("deliver"):
            ran.append(True)
        monitoring.record_worklist("deliver", depth=1, claimed=1, completed=1)
        monitoring.record_archive_lag(1.0)
        assert ran == [True]
        assert "newrelic.agent" not in sys.modules

    def test_errors_inside_a_pass_propagate(self):
        with pytest.raises(RuntimeError), monitoring.background_task("deliver"):
            raise RuntimeError("boom")


class TestNewRelicSettingsFile(TestBase):
    def test_shipped_ini_is_used_when_only_the_license_key_is_set(self, monkeypatch):
        monkeypatch.setattr(config, "NEW_RELIC_CONFIG_FILE", None)
        assert startup.new_relic_config_file() == str(ROOT / "newrelic.ini")

    def test_an_explicit_settings_file_wins(self, monkeypatch, tmp_path):
        monkeypatch.setattr(config, "NEW_RELIC_CONFIG_FILE", str(tmp_path / "other.ini"))
        assert startup.new_relic_config_file() == str(tmp_path / "other.ini")

    def test_shipped_ini_holds_no_secret_and_no_app_name(self):
        settings = (ROOT / "newrelic.ini").read_text()
        lines = [line.split("=")[0].strip() for line in settings.splitlines()]
        assert "license_key" not in lines and "app_name" not in lines
