"""Session set-up: one test Redis and one test SQL database for the whole run.

Without BATFRIEND_TEST_REDIS_URL the run starts its own embedded Redis, or with
BATFRIEND_TEST_CLUSTER=1 its own 3-master Redis Cluster; without
BATFRIEND_TEST_DATABASE_URL it uses a SQLite file in a temporary directory.
"""

import tempfile

import pytest

from base_test import TEST_REDIS_URLS
from batfriend import config as settings
from batfriend import databases, passwords
from batfriend.agency import Agency
from batfriend.agent import Agent
from batfriend.api import create_app
from batfriend.embedded import EmbeddedRedis
from batfriend.embedded_cluster import EmbeddedCluster
from batfriend.friends import Friends
from batfriend.redaction import redact_url
from one_slot import ScriptSlots
from round_trips import RoundTrips

_session: dict[str, object] = {}
# Ports of the clusters a test run starts (each node's bus port is 10000 higher).
TEST_CLUSTER_PORTS = range(15000, 16000)


def start_cluster(data_dir, masters=3, replicas=0):
    """Start a private cluster from the embedded binary, registered as a test instance."""
    cluster = EmbeddedCluster(data_dir, masters, replicas, ports=TEST_CLUSTER_PORTS)
    TEST_REDIS_URLS.add(cluster.start())
    return cluster


def pytest_configure(config: pytest.Config) -> None:
    data_dir = tempfile.mkdtemp(prefix="batfriend-test-")
    settings.BATFRIEND_DATA_DIR = data_dir
    settings.BATFRIEND_REDIS_SHARDS = {}
    if settings.BATFRIEND_TEST_REDIS_URL:
        settings.REDIS_URL = settings.BATFRIEND_TEST_REDIS_URL
    elif settings.BATFRIEND_TEST_CLUSTER:
        cluster = start_cluster(data_dir + "/cluster")
        settings.REDIS_URL = cluster.url
        _session["cluster"] = cluster
    else:
        embedded = EmbeddedRedis(data_dir + "/redis", persistent=False)
        settings.REDIS_URL = embedded.start()
        _session["embedded"] = embedded
    TEST_REDIS_URLS.add(settings.REDIS_URL)
    settings.DATABASE_URL = (
        settings.BATFRIEND_TEST_DATABASE_URL or f"sqlite:///{data_dir}/test.sqlite3"
    )
    databases.reset()


def pytest_unconfigure(config: pytest.Config) -> None:
    databases.reset()
    for server in (_session.pop("embedded", None), _session.pop("cluster", None)):
        if isinstance(server, (EmbeddedRedis, EmbeddedCluster)):
            server.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return redact_url(f"batfriend: redis {settings.REDIS_URL}, sql {databases.database_url()}")


# scrypt's cheapest cost: tests that do not test hashing skip tens of milliseconds per hash.
CHEAP_SCRYPT_N = 2


@pytest.fixture(autouse=True)
def cheap_scrypt(request, monkeypatch):
    """Hash with N=2 unless the test is marked ``real_scrypt`` (production N stays in the code)."""
    if request.node.get_closest_marker("real_scrypt") is None:
        monkeypatch.setattr(passwords, "SCRYPT_N", CHEAP_SCRYPT_N)
        monkeypatch.setattr(passwords, "_DECOY_HASH", passwords.hash_password("decoy"))


@pytest.fixture(autouse=True)
def script_slots(monkeypatch):
    """Every script call of every test keeps its KEYS in one hash slot (``one_slot``)."""
    checker = ScriptSlots(monkeypatch)
    yield checker
    assert checker.crossing == [], "script calls whose KEYS span several hash slots"


@pytest.fixture
def app():
    """The batfriend app with /sqs hidden, as production runs it by default."""
    return create_app(expose_sqs=False)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def spare_redis(tmp_path):
    """A second embedded Redis, registered as a test instance, stopped afterwards."""
    server = EmbeddedRedis(str(tmp_path / "spare"), persistent=False)
    url = server.start()
    TEST_REDIS_URLS.add(url)
    yield server
    TEST_REDIS_URLS.discard(url)
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """A 3-master cluster: the suite's own on a cluster run, else one started for this session."""
    shared = _session.get("cluster")
    if isinstance(shared, EmbeddedCluster):
        yield shared
        return
    cluster = start_cluster(str(tmp_path_factory.mktemp("cluster")))
    yield cluster
    TEST_REDIS_URLS.discard(cluster.url)
    cluster.stop()


@pytest.fixture
def on_cluster_app(redis_cluster, monkeypatch):
    """The app's Redis is ``redis_cluster`` for this test (emptied first); its client."""
    monkeypatch.setattr(settings, "REDIS_URL", redis_cluster.url)
    databases.reset()
    client = databases.get_redis("msg:")
    client.flushdb()
    yield client
    monkeypatch.undo()
    databases.reset()


@pytest.fixture
def signup(client):
    """Register and log in an agent through the API; return its Authorization headers."""

    def sign_up(username, password="correct horse battery"):
        response = client.post(
            "/agents/register", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.get_json()
        response = client.post("/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": "Bearer " + response.get_json()["token"]}

    return sign_up


@pytest.fixture
def befriend():
    """Make two agents friends through the models, registering either one if it is new."""

    def make_friends(a, b, now=None):
        for name in (a, b):
            if not Agency().exists(name):
                Agent(name).register("correct horse battery")
        Friends(a).request(b, now=now)
        Friends(b).accept(a, now=now)

    return make_friends


@pytest.fixture
def round_trips(monkeypatch):
    """A RoundTrips recorder, fed by every Redis connection of this process during the test."""
    return RoundTrips(monkeypatch)


@pytest.fixture(
    params=["mysql+pymysql://root@127.0.0.1:1/test", "sqlite:////nonexistent-dir/batfriend.db"],
    ids=["mysql-closed-port", "sqlite-missing-dir"],
)
def sql_down(request, monkeypatch):
    """A function that points SQL at a database that cannot be reached, from then on.

    Models made after the call use it; the test's end restores the test database.
    """

    def cut():
        monkeypatch.setattr(settings, "DATABASE_URL", request.param)
        databases.reset()

    yield cut
    monkeypatch.undo()
    databases.reset()
