import time

import pytest

from base_test import TestBase
from batfriend import databases
from batfriend.api import MAX_BODY_BYTES, create_app
from batfriend.api.service import BAT
from batfriend.embedded import EmbeddedRedis
from batfriend.errors import error_classes
from helpers import assert_envelope


class TestServiceEndpoints(TestBase):
    @pytest.mark.parametrize("path", ["/", "/status"])
    def test_bat_is_plain_text(self, client, path):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        assert response.get_data(as_text=True) == BAT
        assert "batfriend" in BAT

    def test_unknown_path_is_a_404_envelope(self, client):
        assert_envelope(client.get("/no/such/thing"), 404, "not_found")

    def test_wrong_method_is_a_405_envelope(self, client):
        response = client.post("/status", json={})
        assert_envelope(response, 405, "method_not_allowed")
        assert "GET" in response.headers["Allow"]


class TestSqsExposure(TestBase):
    def test_hidden_by_default(self, client):
        assert_envelope(client.post("/sqs", json={"type": "tick"}), 404, "not_found")

    def test_exposed_when_enabled(self):
        client = create_app(expose_sqs=True).test_client()
        response = client.post("/sqs", json={"type": "tick"}, headers={"X-Aws-Sqsd-Msgid": "m-1"})
        assert response.status_code == 200
        assert_envelope(client.get("/sqs"), 405, "method_not_allowed")


class TestBadRequests(TestBase):
    def setUp(self):
        super().setUp()
        self.client = create_app(expose_sqs=True).test_client()
        self.client.environ_base["HTTP_X_AWS_SQSD_MSGID"] = "m-1"

    def test_malformed_json_is_400(self):
        response = self.client.post("/sqs", data="{not json", content_type="application/json")
        assert_envelope(response, 400, "bad_request")

    @pytest.mark.parametrize("body", ["[]", '"text"', "3", "null"])
    def test_non_object_is_400(self, body):
        response = self.client.post("/sqs", data=body, content_type="application/json")
        assert_envelope(response, 400, "bad_request")

    def test_nan_is_400(self):
        response = self.client.post("/sqs", data='{"type": NaN}', content_type="application/json")
        assert_envelope(response, 400, "bad_request")

    def test_unknown_field_is_400_naming_it(self):
        error = assert_envelope(self.client.post("/sqs", json={"typo": 1}), 400, "bad_request")
        assert "typo" in error["message"]

    def test_oversized_body_is_413(self):
        body = '{"body": "' + "x" * MAX_BODY_BYTES + '"}'
        response = self.client.post("/sqs", data=body, content_type="application/json")
        assert_envelope(response, 413, "payload_too_large")

    def test_non_json_content_type_is_415(self):
        response = self.client.post("/sqs", data="type=tick", content_type="text/plain")
        assert_envelope(response, 415, "unsupported_media_type")


def _app_with_probe():
    """The app plus test-only routes: one that touches Redis, one that fails."""
    app = create_app()

    @app.post("/probe")
    def probe():
        return {"count": databases.get_redis("probe").incr("probe:count")}

    @app.post("/explode")
    def explode():
        raise RuntimeError("boom")

    return app


class TestFailures(TestBase):
    def test_unexpected_exception_is_a_logged_500_envelope(self, caplog):
        response = _app_with_probe().test_client().post("/explode", json={})
        assert_envelope(response, 500, "internal_error")
        assert "boom" not in response.get_data(as_text=True)
        assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)

    def test_redis_down_is_503_then_recovers(self, tmp_path, monkeypatch):
        from base_test import TEST_REDIS_URLS
        from batfriend import config

        server = EmbeddedRedis(str(tmp_path / "redis"), persistent=False)
        url = server.start()
        TEST_REDIS_URLS.add(url)
        monkeypatch.setattr(config, "REDIS_URL", url)
        databases.reset()
        client = _app_with_probe().test_client()
        try:
            assert client.post("/probe", json={}).status_code == 200
            server.stop()
            started = time.monotonic()
            assert_envelope(client.post("/probe", json={}), 503, "unavailable")
            assert time.monotonic() - started < 3
            server.start()
            response = client.post("/probe", json={})
            assert response.status_code == 200
            assert response.get_json() == {"count": 1}
        finally:
            server.stop()
            TEST_REDIS_URLS.discard(url)
            monkeypatch.undo()
            databases.reset()


def test_each_error_status_has_one_api_code():
    statuses = [cls.status for cls in error_classes()]
    assert len(statuses) == len(set(statuses)), "the envelope's code is looked up by status"
