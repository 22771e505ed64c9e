"""The bench's plan and arithmetic without generating load: a fake shop pair and a fake wrk
record what main() does, in which order (restarts, warm-ups, machine state, measured runs),
and the ratios come out of synthetic req/s."""
import json

import pytest

from loadtest import bench

PROC_STAT = "cpu  {} 0 {} 1000 0 0 0 {} 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n"


def test_machine_state_records_load_and_steal_since_the_previous_record():
    first = bench.machine_state(proc_stat=PROC_STAT.format(100, 50, 10), loadavg=(0.4, 0.5, 0.6))
    assert first["loadavg"] == [0.4, 0.5, 0.6] and first["steal_jiffies"] == 10
    assert first["steal_share_since_previous"] is None
    second = bench.machine_state(first, proc_stat=PROC_STAT.format(160, 70, 30),
                                 loadavg=(1.0, 0.6, 0.6))
    # 100 jiffies passed (60 user + 20 system + 20 steal), 20 of them stolen
    assert second["steal_share_since_previous"] == pytest.approx(0.2)
    with pytest.raises(ValueError):
        bench.cpu_jiffies("intr 1\n")


def test_summary_ratios_are_of_medians_per_setting():
    def rnd(i, setting, trivial, listing, large):
        return {"round": i, "setting": setting,
                "rps": {"trivial": trivial, "listing": listing, "listing_large": large}}
    rounds = [rnd(0, "uncached", 4000, 1600, 800), rnd(0, "cached", 4000, 4000, 3900),
              rnd(1, "uncached", 5000, 2000, 1000), rnd(1, "cached", 5000, 4800, 4900),
              rnd(2, "uncached", 3000, 1700, 700), rnd(2, "cached", 3000, 3100, 3000)]
    s = bench.summarize(rounds)
    assert s["uncached"]["median_rps"] == {"trivial": 4000, "listing": 1700, "listing_large": 800}
    assert s["bench_ratio_uncached"] == pytest.approx(1700 / 4000)
    assert s["large_catalogue_ratio"] == pytest.approx(800 / 1700)          # caches off
    assert s["large_catalogue_ratio_cached"] == pytest.approx(3900 / 4000)  # caches on
    assert s["large_catalogue_caches"] == "off"
    assert [r["large_vs_small"] for r in s["uncached"]["paired_ratios"]] == pytest.approx(
        [0.5, 0.5, 700 / 1700])


class FakeShop:
    def __init__(self, name, log):
        self.name, self.log, self.env = name, log, {}
        self.shop_url = f"http://{name}"

    def restart_app(self, unset=(), **env):
        for k in unset:
            self.env.pop(k, None)
        self.env.update(env)
        self.log.append(("restart", self.name, dict(self.env)))


def test_main_interleaves_settings_warms_up_after_every_restart_and_records_the_machine(
        tmp_path, monkeypatch):
    import contextlib
    log, shops = [], {}

    @contextlib.contextmanager
    def shop(name, products, workers, threads):
        shops[name] = FakeShop(name, log)
        yield shops[name]

    def fake_run(url, connections, seconds):
        log.append(("wrk", url, seconds))
        big = url.startswith("http://bench-100000")
        rps = 1000.0 if url.endswith("/healthz") else (400.0 if big else 500.0)
        return {"rps": rps, "p95_ms": 1.0, "error_rate": 0.0}

    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    monkeypatch.setattr(bench.stacks, "shop", shop)
    monkeypatch.setattr(bench.stacks, "seed",
                        lambda stack, n: log.append(("seed", stack.name, n)) or 1.0)
    monkeypatch.setattr(bench.stacks, "cache_off_env",
                        lambda: {"PRODUCT_COUNT_TTL": "0", "LISTING_CACHE_TTL": "0"})
    monkeypatch.setattr(bench.wrk, "run", fake_run)
    states = []
    real_state = bench.machine_state
    monkeypatch.setattr(bench, "machine_state",
                        lambda prev: states.append(len(log)) or real_state(prev))
    assert bench.main(["--rounds", "3", "--seconds", "15", "--warmup", "5"]) == 0
    assert log[0] == ("seed", "bench-100000", 100000)
    # every measured block: both shops restarted with the setting, then a 5 s warm-up on
    # each path, then the machine's state, then the three measured 15 s runs
    blocks, i = [], 1
    while i < len(log):
        restarts = log[i:i + 2]
        warm = log[i + 2:i + 5]
        measured = log[i + 5:i + 8]
        assert [r[0] for r in restarts] == ["restart", "restart"]
        assert {r[1] for r in restarts} == {"bench-50", "bench-100000"}
        assert all(w[0] == "wrk" and w[2] == 5 for w in warm)
        assert all(m[0] == "wrk" and m[2] == 15 for m in measured)
        assert i + 5 in states                    # machine state taken just before measuring
        blocks.append(restarts[0][2])
        i += 8
    off = {"PRODUCT_COUNT_TTL": "0", "LISTING_CACHE_TTL": "0"}
    assert blocks == [off, {}] * 3                # caches off and on alternate, 3 rounds each
    res = json.loads(next(tmp_path.glob("bench-*/bench.json")).read_text())
    assert len(res["rounds"]) == 6
    assert all("loadavg" in r["machine_before"] and "steal_jiffies" in r["machine_before"]
               for r in res["rounds"])
    assert res["large_catalogue_caches"] == "off"
    assert res["large_catalogue_ratio"] == pytest.approx(0.8)
    md = next(tmp_path.glob("bench-*/bench.md")).read_text()
    assert "100000 vs 50 products, caches off | 400 vs 500 | 0.80 | >= 0.8 |" in md
    assert "caches on (cache hits)" in md
    assert "performance-ceiling.md (not the reference system)" in md
