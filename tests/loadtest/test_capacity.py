"""The capacity lab's pure parts: cgroup windows, the cause at the break, what a round may
claim, and the report over rounds (synthetic records; no load is generated)."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from loadtest import capacity, capacity_report, cgroups, machine


def reading(cpu_s, periods, throttled, mem=100, limit=1000, quota=0.125):
    return {"cpu_ns": int(cpu_s * 1e9), "periods": periods, "throttled": throttled,
            "throttled_ns": 0, "quota_cores": quota, "mem_bytes": mem, "mem_limit": limit,
            "mem_failcnt": 0}


def test_a_window_gives_cores_quota_share_and_throttling():
    samples = [{"t": 100.0, "c": {"app": reading(10.0, 1000, 10)}},
               {"t": 105.0, "c": {"app": reading(10.5, 1500, 410, mem=900)}},
               {"t": 110.0, "c": {"app": reading(11.2, 2000, 810)}},
               {"t": 200.0, "c": {"app": reading(50.0, 9000, 9000)}}]     # outside the window
    w = cgroups.window(samples, 100.0, 110.0)["app"]
    assert w["cores"] == pytest.approx(0.12)
    assert w["quota_share"] == pytest.approx(0.96)
    assert w["throttled_share"] == pytest.approx(0.8)
    assert w["mem_peak_share"] == pytest.approx(0.9)
    assert cgroups.window(samples, 300, 400) == {}


def test_a_container_is_read_from_its_cgroup_files(tmp_path):
    cid = "abc"
    for ctl, files in {"cpu": {"cpu.stat": "nr_periods 40\nnr_throttled 12\nthrottled_time 7\n",
                               "cpu.cfs_quota_us": "1250\n", "cpu.cfs_period_us": "10000\n"},
                       "cpuacct": {"cpuacct.usage": "123456789\n"},
                       "memory": {"memory.usage_in_bytes": "5000\n",
                                  "memory.limit_in_bytes": "2147483648\n", "memory.failcnt": "0\n"}}.items():
        d = tmp_path / ctl / cgroups.PARENT / f"libpod-{cid}"
        d.mkdir(parents=True)
        for name, text in files.items():
            (d / name).write_text(text)
    r = cgroups.read_container(cid, tmp_path)
    assert (r["cpu_ns"], r["periods"], r["throttled"], r["quota_cores"]) == (123456789, 40, 12, 0.125)
    assert cgroups.read_container("gone", tmp_path) is None


HOSTS_AT_QUOTA = {"s2-app1": {"cores": 0.124, "quota_cores": 0.125, "quota_share": 0.99,
                              "throttled_share": 0.9, "mem_peak_share": 0.3, "mem_failcnt": 0},
                  "s2-db1": {"cores": 0.05, "quota_cores": 0.25, "quota_share": 0.2,
                             "throttled_share": 0.0, "mem_peak_share": 0.2, "mem_failcnt": 0}}
TIERS = {"s2-app1": "app", "s2-db1": "db", "s2-lb1": "lb"}
BROKE = {"users": 200, "p95_ms": 900.0, "error_rate": 0.0, "requests": 100}


def test_pool_waits_with_the_app_at_its_quota_are_the_cpus():
    cause, evidence = capacity.classify(BROKE, HOSTS_AT_QUOTA, TIERS, {"pool_waiting_mean": 12.0})
    assert cause == "cpu" and "symptom" in evidence and "s2-app1" in evidence


def test_pool_waits_below_the_quota_are_the_pool():
    hosts = {**HOSTS_AT_QUOTA, "s2-app1": {**HOSTS_AT_QUOTA["s2-app1"], "quota_share": 0.4,
                                          "cores": 0.05, "throttled_share": 0.1}}
    cause, evidence = capacity.classify(BROKE, hosts, TIERS, {"pool_waiting_mean": 3.0,
                                                              "pool_timeouts": 5})
    assert cause == "pool" and "5 pool timeouts" in evidence


def test_an_app_throttled_in_most_of_its_periods_is_at_its_cpu_limit_below_the_mean_quota():
    # measured (2-one-app-host, round 1): 0.090 of 0.125 cores, 73 % of its periods throttled
    hosts = {"s2-app1": {**HOSTS_AT_QUOTA["s2-app1"], "cores": 0.090, "quota_share": 0.72,
                         "throttled_share": 0.73}}
    assert capacity.classify(BROKE, hosts, TIERS, {})[0] == "cpu"
    hosts["s2-app1"]["throttled_share"] = 0.2
    assert capacity.classify(BROKE, hosts, TIERS, {})[0] == "unknown"
    # a light step throttles too (22 % of the quota, 55 % of periods): not a CPU limit
    hosts["s2-app1"].update(quota_share=0.22, throttled_share=0.55)
    assert capacity.classify(BROKE, hosts, TIERS, {})[0] == "unknown"


def test_the_load_balancer_memory_and_errors_are_named():
    idle_app = {"cores": 0.01, "quota_cores": 0.125, "quota_share": 0.1, "throttled_share": 0.0}
    lb = {"cores": 0.25, "quota_cores": 0.25, "quota_share": 1.0, "throttled_share": 0.7}
    assert capacity.classify(BROKE, {"s2-app1": idle_app, "s2-lb1": lb}, TIERS, {})[0] == "load_balancer"
    full = {**idle_app, "mem_peak_share": 0.99}
    assert capacity.classify(BROKE, {"s2-app1": full}, TIERS, {})[0] == "memory"
    errors = {**BROKE, "error_rate": 0.2}
    assert capacity.classify(errors, {"s2-app1": idle_app}, TIERS, {})[0] == "errors"
    assert capacity.classify(BROKE, {"s2-app1": idle_app}, TIERS, {})[0] == "unknown"
    # the database side, as loadtest/promql.step_figures gives it
    queue = capacity.classify(BROKE, {"s2-app1": idle_app}, TIERS, {},
                              {"pgbouncer": {"max_waiting_clients": 4.0}})
    assert queue[0] == "pgbouncer_queue" and "4 clients waiting in pgbouncer" in queue[1]
    full_db = {"postgres": {"max_used_fraction": 0.97}, "pgbouncer": {"max_waiting_clients": None}}
    assert capacity.classify(BROKE, {"s2-app1": idle_app}, TIERS, {}, full_db)[0] == "db_connections"
    # an app at its quota is the CPU's, whatever queues form behind it
    assert capacity.classify(BROKE, HOSTS_AT_QUOTA, TIERS, {}, full_db)[0] == "cpu"


def test_without_prometheus_a_round_records_no_database_figures():
    assert capacity.prom_figures(None, 0, 10) == {}
    assert capacity.prometheus("9") == (None, [])   # nothing listens on 127.0.0.1:9099


def step(users, p95, err=0.0, valid=True):
    return {"users": users, "p95_ms": p95, "error_rate": err, "requests": 100, "valid": valid}


def test_a_round_claims_the_last_step_held_before_the_break():
    held, broke, valid = capacity.capacity_of([step(10, 5), step(50, 80), step(100, 700)], "users")
    assert (held, broke["users"], valid) == (50, 100, True)
    held, broke, valid = capacity.capacity_of([step(10, 900)], "users")
    assert (held, broke["users"]) == (0, 10)
    held, broke, valid = capacity.capacity_of([step(10, 5), step(50, 6, valid=False), step(100, 7)],
                                              "users")
    assert (held, broke, valid) == (10, None, False)       # nothing past an invalid step counts
    assert capacity.within_slo({"requests": 10, "p95_ms": None, "error_rate": 0}) is False


def test_arms_alternate_between_rounds_and_the_lab_is_left_as_shoplab_deploys_it():
    arms = ["shoplab", "reference_shaped"]
    got = [capacity.order(arms, n, 3) for n in range(3)]
    assert got == [["reference_shaped", "shoplab"], ["shoplab", "reference_shaped"],
                   ["reference_shaped", "shoplab"]]
    assert capacity.order(arms, 1, 2) == ["reference_shaped", "shoplab"]
    configs = ["2", "2-one-app-host"]     # configurations interleave the same way
    assert capacity.order(configs, 2, 3, last="2") == ["2-one-app-host", "2"]
    assert capacity.order(configs, 1, 3, last="2") == ["2", "2-one-app-host"]


def test_an_unknown_configuration_is_refused_before_anything_deploys(capsys):
    with pytest.raises(SystemExit) as exit_:
        capacity.main(["run", "--config", "2,9"])
    assert exit_.value.code == 2 and "unknown config(s) 9" in capsys.readouterr().err


def test_a_busy_machine_is_flagged():
    quiet = {"other_cores": 0.01, "other_busiest": {}, "steal_share": 0.0, "load_avg": [0.3, 0, 0],
             "cpus": 2}
    assert machine.busy(quiet) == []
    loud = {**quiet, "other_cores": 0.6, "other_busiest": {"make[1]": 0.6}, "load_avg": [2.5, 0, 0]}
    assert len(machine.busy(loud)) == 2


def test_the_machine_speed_is_timed_on_every_cpu():
    speed = machine.speed(loops=20_000, repeats=1)
    assert set(speed) == {str(cpu) for cpu in range(os.cpu_count())}
    assert all(v > 10_000 for v in speed.values())      # iterations per second, a real loop


def test_the_report_shows_the_app_cpu_per_request_at_capacity_and_the_machine_speed(tmp_path):
    def host(cores, quota=0.125):
        return {"cores": cores, "quota_cores": quota, "quota_share": cores / quota,
                "throttled_share": 0.0, "mem_peak_share": 0.1, "mem_failcnt": 0}

    def step(users, rps, p95, app_cores):
        return {"users": users, "rps": rps, "requests": 100, "p95_ms": p95, "error_rate": 0.0,
                "hosts": {"s2-app1": host(app_cores), "s2-app2": host(app_cores),
                          "s2-db1": host(0.05, 0.25)}}
    for n, (speed, cores) in enumerate([(10e6, 0.05), (5e6, 0.1)]):
        write_round(tmp_path, "2", "shoplab", 200, 100, n=n, extra={
            "tiers": {"s2-app1": "app", "s2-app2": "app", "s2-db1": "db"},
            "machine": {"speed": {"0": speed, "1": speed}},
            # the last step within the SLO holds 100 req/s on 2 x cores; the break is ignored
            "closed_loop": [step(100, 50, 20, cores / 2), step(200, 100, 40, cores),
                            step(250, 110, 900, 0.125)], "open_loop": []})
    write_round(tmp_path, "2", "reference_shaped", 100, 50, n=3)    # before either was recorded
    data = capacity_report.build(tmp_path)
    s = data["stages"]["2"]["shoplab"]
    assert (s["app_cpu_ms_per_request_min"], s["app_cpu_ms_per_request_max"]) == (1.0, 2.0)
    assert (s["machine_speed_mloops_min"], s["machine_speed_mloops_max"]) == (5.0, 10.0)
    assert data["stages"]["2"]["reference_shaped"]["machine_speed_mloops"] is None
    md = capacity_report.markdown(data)
    assert "| 2 | shoplab | 1.50 (1.00-2.00) | 7.50 (5.00-10.00) |" in md
    assert "| 2 | reference_shaped | - | - |" in md


def write_round(root, config, arm, users, rps, cause="cpu", quick=False, valid=True, n=0,
                extra=None):
    d = root / f"{config}-reference-{arm}" / f"2026120{n}T000000Z{'-quick' if quick else ''}"
    d.mkdir(parents=True)
    (d / "round.json").write_text(json.dumps({
        "config": config, "profile": "reference", "arm": arm, "credits": "burst", "quick": quick,
        "capacity_users_at_slo": users, "capacity_rps_at_slo": rps, "breaking_point_cause": cause,
        "breaking_point_evidence": "e", "generator_cpu_share_max": 0.3, "valid": valid,
        "busy": [], "cpu_limit_cores": 0.125, "lab_cores_per_vcpu": 0.125,
        "deploy_seconds": 100.0 + 10 * n, **(extra or {})}))


def test_the_report_takes_medians_over_rounds_and_ignores_quick_ones(tmp_path):
    for n, (u, r) in enumerate([(100, 60), (150, 80), (120, 70)]):
        write_round(tmp_path, "1", "shoplab", u, r, n=n)
    write_round(tmp_path, "1", "shoplab", 9999, 9999, quick=True, n=5)
    write_round(tmp_path, "1", "reference_shaped", 20, 15, cause="pool", n=1)
    data = capacity_report.build(tmp_path)
    s = data["stages"]["1"]["shoplab"]
    assert (s["capacity_users_at_slo"], s["capacity_users_at_slo_min"],
            s["capacity_users_at_slo_max"], s["rounds"]) == (120, 100, 150, 3)
    assert s["capacity_rps_at_slo"] == 70 and s["valid"] is True
    assert s["monthly_cost_usd"] > 0
    # 120 lab users at an eighth of a core per vCPU: 960 per full vCPU (the headline estimate)
    assert s["capacity_users_at_slo_full_vcpu"] == 960
    assert s["cost_per_1000_users_usd"] == pytest.approx(s["monthly_cost_usd"] / 0.96, rel=1e-3)
    assert s["cost_per_1000_users_usd_lab_scale"] == pytest.approx(s["monthly_cost_usd"] / 0.12, rel=1e-3)
    assert data["stages"]["1"]["reference_shaped"]["breaking_point_cause"] == "pool"
    assert (s["deploy_seconds"], s["deploy_seconds_min"], s["deploy_seconds_max"]) == (110, 100, 120)
    assert s["config_lines"] > 0          # stage 1's inventory, playbook and roles, counted
    assert s["rounds_with_timers_running"] == 3      # written without paused_timers
    assert "Measured with the hosts' timers running" in capacity_report.markdown(data)
    assert data["ratios"] == {"1: shoplab / reference_shaped": 6.0}
    assert "| 1 | shoplab | 120 (100-150)" in capacity_report.markdown(data)


def test_each_arm_reports_its_newest_run_and_a_ratio_takes_both_sides_from_one_run(tmp_path):
    hour = 3600.0

    def timed(start: float) -> dict:
        return {"started": start, "finished": start + 600}
    # yesterday's run: two app hosts against one, on a slow machine
    for n, (config, users) in enumerate([("2", 130), ("2-one-app-host", 50), ("2", 120),
                                         ("2-one-app-host", 50)]):
        write_round(tmp_path, config, "shoplab", users, 80, n=n, extra=timed(n * 700))
    # today's run, hours later: both arms of stage 2 on a faster machine
    for n, (arm, users) in enumerate([("shoplab", 300), ("reference_shaped", 250),
                                      ("shoplab", 250), ("reference_shaped", 300)], start=4):
        write_round(tmp_path, "2", arm, users, 150, n=n, extra=timed(10 * hour + n * 700))
    data = capacity_report.build(tmp_path)
    two = data["stages"]["2"]["shoplab"]
    assert (two["capacity_users_at_slo"], two["rounds"]) == (275, 2)     # today's rounds only
    assert data["stages"]["2-one-app-host"]["shoplab"]["rounds"] == 2
    # scaling from yesterday's run, which measured both (125 / 50), not today's 275 / 50
    assert data["ratios"] == {"2: shoplab / reference_shaped": 1.0,
                              "2 with two app hosts / with one (shoplab)": 2.5}
    assert "- 2 with two app hosts / with one (shoplab): **2.5x**" in capacity_report.markdown(data)


def test_health_checks_probe_every_target_each_interval_until_stopped():
    import http.server
    import threading
    paths = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop, counts = threading.Event(), {"ok": 0, "failed": 0}
    checks = {"path": "/api/products", "interval_s": 30, "per_target": 2}
    t = threading.Thread(target=capacity.probe, args=(
        f"http://127.0.0.1:{server.server_port}", checks, 3, stop, counts))
    t.start()
    for _ in range(100):          # the first interval's probes: 2 per target, 3 targets
        if counts["ok"] >= 6:
            break
        stop.wait(0.05)
    stop.set()
    t.join(5)
    server.shutdown()
    assert not t.is_alive() and counts == {"ok": 6, "failed": 0}
    assert set(paths) == {"/api/products"}


def test_an_experiment_is_reported_as_the_ratio_of_its_two_arms(tmp_path):
    for n in range(3):
        write_round(tmp_path, "2", "reference_pgbouncer_session", 40, 20, cause="pgbouncer_queue", n=n)
        write_round(tmp_path, "2", "reference_pgbouncer_transaction", 60 + n, 30, n=n)
    write_round(tmp_path, "2", "reference_probes_5s", 50, 25, n=0)   # its pair has no rounds
    data = capacity_report.build(tmp_path)
    e = data["experiments"]["2"]
    assert set(e) == {"pgbouncer"}
    assert (e["pgbouncer"]["ratio_users"], e["pgbouncer"]["ratio_rps"]) == (1.52, 1.5)
    assert e["pgbouncer"]["causes"]["reference_pgbouncer_session"] == "pgbouncer_queue"
    assert e["pgbouncer"]["claimed_ratio"] == 3.0
    assert "| 2 | pgbouncer | 1.52x | 1.50x | pgbouncer_queue / cpu | 3 | yes" in capacity_report.markdown(data)


def test_a_round_pauses_every_active_timer_of_the_lab_and_resumes_the_same(monkeypatch):
    ran = []

    def run(cmd, **kw):
        ran.append(cmd)
        listed = "shop-reaper.timer loaded active waiting reaper\napt-daily.timer loaded active waiting apt\n"
        return subprocess.CompletedProcess(cmd, 0, stdout=listed if "list-units" in cmd else "")
    monkeypatch.setattr(capacity.subprocess, "run", run)
    sizes = {"lab_sizes": {"app1": {"container": "shoplab-s3-app1", "groups": ["app", "app_image"]},
                           "db1": {"container": "shoplab-s3-db1", "groups": ["db"]}}}
    paused = capacity.pause_timers("3", sizes)
    assert paused == {"shoplab-s3-db1": ["shop-reaper.timer", "apt-daily.timer"],
                      "shoplab-s3-reaper": []}             # no systemd in the app's image
    assert ["podman", "exec", "shoplab-s3-db1", "systemctl", "stop", "shop-reaper.timer",
            "apt-daily.timer"] in ran and ["podman", "stop", "shoplab-s3-reaper"] in ran
    ran.clear()
    capacity.resume_timers(paused)
    assert ran == [["podman", "exec", "shoplab-s3-db1", "systemctl", "start", "shop-reaper.timer",
                    "apt-daily.timer"], ["podman", "start", "shoplab-s3-reaper"]]


def test_a_round_counts_as_measured_with_prometheus_only_if_it_scraped_the_hosts():
    pg = {"postgres": {"max_connections": 100.0}}
    answered_only = {"cpu_cores": {"mon1": 0.09}, "postgres": {"max_connections": None}}
    assert capacity_report.scraped_the_hosts(
        {"prometheus": True, "prometheus_down": [], "closed_loop": [{"prom": {}}, {"prom": pg}]})
    # Prometheus answered but scraped nothing of shop1 (a stale address): its figures are empty
    assert not capacity_report.scraped_the_hosts(
        {"prometheus": True, "closed_loop": [{"prom": answered_only}]})
    assert not capacity_report.scraped_the_hosts(
        {"prometheus": True, "prometheus_down": ["node shop1"], "closed_loop": [{"prom": pg}]})
    assert not capacity_report.scraped_the_hosts({"prometheus": False, "closed_loop": [{"prom": pg}]})


def test_the_open_loop_looks_below_its_first_rate_when_that_one_already_broke(monkeypatch,
                                                                             tmp_path):
    """An arm past the SLO at half the closed loop's rate is measured further down (10-35 %),
    so its capacity is a rate it held, not 0 for "none of those tried"."""
    swept = []

    def sweep(target, rates, **kw):
        swept.append(rates)
        out = []
        for r in rates:                       # holds up to 30 req/s; stops at the first past it
            out.append({"rate": r, "requests": 100, "p95_ms": 40.0,
                        "error_rate": 0.5 if r > 30 else 0.0})
            if r > 30:
                break
        return out
    monkeypatch.setattr(capacity, "sweep", sweep)
    steps = capacity.open_loop("https://x", tmp_path, 100.0, quick=False)
    assert swept == [[round(100 * f, 1) for f in capacity.RATE_FACTORS], [10.0, 20.0, 35.0]]
    assert [s["rate"] for s in steps] == [10.0, 20.0, 35.0, 50.0]
    assert capacity.capacity_of(steps, "rate")[0] == 20.0
    swept.clear()
    capacity.open_loop("https://x", tmp_path, 20.0, quick=False)   # 10 req/s holds: no look down
    assert len(swept) == 1
