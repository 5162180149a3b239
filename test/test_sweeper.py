import logging

from base_test import TestBase
from batfriend.databases import get_redis
from batfriend.sweeper import Sweeper


def fill(count, prefix="lobby:"):
    pipeline = get_redis(prefix).pipeline(transaction=False)
    for n in range(count):
        pipeline.set(f"{prefix}{n}", n)
    pipeline.execute()


class TestSweeper(TestBase):
    def test_sweeps_everything_at_a_bounded_rate_across_restarts(self):
        fill(5000)
        seen = []
        steps = 0
        # A new Sweeper every step stands for a watcher restarted between ticks.
        while len(set(seen)) < 5000:
            repairers = {"lobby:": seen.extend}
            assert Sweeper(repairers, count=200).sweep() < 1000, "one step is bounded"
            steps += 1
            assert steps < 100
        assert steps > 5, "the sweep took several steps, resuming from the stored cursor"
        assert len(seen) < 5000 * 1.5, "restarts resumed the walk instead of starting over"

    def test_a_key_goes_to_the_repairer_with_the_longest_prefix(self):
        redis = get_redis("x:")
        for key in ("x:a", "x:b:1", "x:b:2", "other"):
            redis.set(key, 1)
        calls = {"x:": [], "x:b:": []}
        sweeper = Sweeper({p: calls[p].append for p in calls}, count=1000)
        assert sweeper.sweep() == 4
        assert calls["x:"] == [["x:a"]]
        assert sorted(key for batch in calls["x:b:"] for key in batch) == ["x:b:1", "x:b:2"]

    def test_a_failing_repairer_is_logged_and_the_others_still_run(self, caplog):
        get_redis("bad:").set("bad:1", 1)
        get_redis("good:").set("good:1", 1)
        repaired = []

        def broken(keys):
            raise RuntimeError("cannot repair")

        with caplog.at_level(logging.ERROR):
            Sweeper({"bad:": broken, "good:": repaired.extend}, count=1000).sweep()
        assert repaired == ["good:1"]
        assert any(r.exc_info and "cannot repair" in str(r.exc_info[1]) for r in caplog.records)

    def test_no_repairers_no_scan(self):
        fill(10)
        assert Sweeper({}).sweep() == 0
