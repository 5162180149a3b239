import importlib.resources
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from batfriend import __version__
from batfriend.bundle import build, bundle_name

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {
    "requirements.txt",
    "app.py",
    "basic_config.py",
    "uwsgi.ini",
    "Procfile",
    "cron.yaml",
    "newrelic.ini",
}


def package_sources():
    """Every .py and .lua file of the batfriend package in the work tree."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "batfriend").rglob("*")
        if path.suffix in (".py", ".lua") and "__pycache__" not in path.parts
    }


def test_bundle_holds_exactly_what_elastic_beanstalk_needs(tmp_path):
    bundle = build(tmp_path)
    assert bundle == tmp_path / f"batfriend-{__version__}.zip" == tmp_path / bundle_name()
    names = set(zipfile.ZipFile(bundle).namelist())
    ebextensions = {n for n in names if n.startswith(".ebextensions/")}
    assert ebextensions >= {
        ".ebextensions/01_packages.config",
        ".ebextensions/02_environment.config",
    }
    assert names == TOP_LEVEL | ebextensions | package_sources()
    lua = {f"batfriend/lua/{f.name}" for f in importlib.resources.files("batfriend.lua").iterdir()}
    assert {n for n in lua if n.endswith(".lua")} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.split("/")[0] in ("test", "bench", "var", "dist", ".git")]


def test_bundle_is_reproducible(tmp_path):
    first = build(tmp_path / "one").read_bytes()
    second = build(tmp_path / "two").read_bytes()
    assert first == second


@pytest.mark.slow
def test_unpacked_bundle_imports_the_app_from_itself(tmp_path):
    bundle = build(tmp_path / "dist")
    unpacked = tmp_path / "app"
    zipfile.ZipFile(bundle).extractall(unpacked)
    code = (
        "import app, batfriend, batfriend.scripts as s\n"
        "print(batfriend.__file__)\n"
        "print(len(s.lua_source('agent_register')) > 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEW_RELIC")}
    env["BATFRIEND_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    package_file, lua_loaded = result.stdout.split()
    assert package_file == str(unpacked / "batfriend" / "__init__.py")
    assert lua_loaded == "True"


@pytest.mark.slow
def test_the_command_prints_the_bundle_path(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "batfriend.bundle", "--dist", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / bundle_name())
