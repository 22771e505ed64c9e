"""Lab hosts sized like their instance classes, and the two arms deployed on them."""
from __future__ import annotations

import pytest

from capacity import arms, lab_sizes
from capacity.pool_budget import pool_budget


def test_a_t2_small_is_an_eighth_of_a_core_at_the_default_scale():
    lim = lab_sizes.host_limits("1", "reference", ["app", "db", "lb", "redis"], scale=0.125, ncpu=2)
    assert (lim.instance_class, lim.cpus, lim.cpuset_cpus, lim.memory_mib) == ("t2.small", 0.125, "0", 2048)
    assert (lim.cpu_period_us, lim.cpu_quota_us) == (10_000, 1_250)
    assert "--cpu-quota=1250" in lim.podman_flags() and "--memory-swap=2048m" in lim.podman_flags()


def test_exhausted_credits_leave_a_burstable_class_its_baseline_only():
    burst = lab_sizes.host_limits("2", "reference", ["app"], "burst", scale=0.125, ncpu=2)
    flat = lab_sizes.host_limits("2", "reference", ["app"], "exhausted", scale=0.125, ncpu=2)
    assert flat.cpus == pytest.approx(burst.cpus * 0.20)
    # 0.025 core: the period grows so the quota stays at the kernel's 1 ms minimum
    assert flat.cpu_quota_us == 1_000 and flat.cpu_period_us == 40_000
    fargate = lab_sizes.host_limits("3", "reference", ["app", "app_image"], "exhausted", scale=0.125, ncpu=2)
    assert fargate.cpus == pytest.approx(0.0625)     # a task is never burstable


def test_profiles_differ_where_the_classes_do():
    ref = lab_sizes.tier_classes("2", "reference")
    stack = lab_sizes.tier_classes("2", "stack")
    assert ref["app"] == "t2.small" and stack["app"] == "t3.small"
    assert ref["db"] == stack["db"] == "db.t3.micro"
    with pytest.raises(ValueError, match="profile"):
        lab_sizes.tier_classes("2", "bigger")


def test_the_generator_and_monitoring_get_the_other_cpus_and_no_quota():
    assert lab_sizes.cpu_sets(2) == ("0", "1")
    assert lab_sizes.cpu_sets(8) == ("0-3", "4-7")
    mon = lab_sizes.host_limits("2", "reference", ["monitoring"], ncpu=2)
    assert mon.cpuset_cpus == "1" and mon.cpu_quota_us is None
    assert not any(f.startswith("--cpu-quota") for f in mon.podman_flags())
    with pytest.raises(ValueError, match="2 CPUs"):
        lab_sizes.cpu_sets(1)


def test_the_load_balancer_has_a_stated_share_and_every_stage_fits_one_core_at_the_default():
    lb = lab_sizes.host_limits("2", "reference", ["lb"], scale=0.125, ncpu=2)
    assert lb.cpus == lab_sizes.LB_CORES
    total = sum(lab_sizes.host_limits("2", "reference", [g], scale=0.125, ncpu=2).cpus
                for g in ("app", "app", "db", "redis", "lb"))
    assert total <= 1.0


def test_a_size_label_changes_with_any_limit():
    a = lab_sizes.host_limits("2", "reference", ["app"], scale=0.125, ncpu=2).label()
    b = lab_sizes.host_limits("2", "reference", ["app"], scale=0.25, ncpu=2).label()
    c = lab_sizes.host_limits("2", "stack", ["app"], scale=0.125, ncpu=2).label()
    assert len({a, b, c}) == 3


def test_the_scale_is_a_share_of_a_core(monkeypatch):
    monkeypatch.setenv("LAB_CORES_PER_VCPU", "1.5")
    with pytest.raises(ValueError, match="LAB_CORES_PER_VCPU"):
        lab_sizes.cores_per_vcpu()


@pytest.mark.parametrize("stage,hosts", [("1", 1), ("2", 2), ("3", 2)])
def test_the_reference_shaped_arm_can_run_out_of_its_pool_and_fits_its_database(stage, hosts):
    v = arms.arm_vars("reference_shaped", stage)
    assert v["shop_app_gunicorn_threads"] > v["shop_app_db_pool_max_size"] == 25
    assert v["shop_db_via_pgbouncer"] is False
    assert v["shop_app_listing_cache_ttl"] == v["shop_app_product_count_ttl"] == 0
    assert v["postgresql_max_connections"] == (100 if stage == "1" else 87)
    budget = pool_budget(hosts, v["shop_app_gunicorn_workers"], v["shop_app_db_pool_max_size"],
                         v["postgresql_max_connections"], 3, 5)
    assert budget["ok"], budget["message"]
    assert ("postgresql_hba_entries" in v) == (stage != "1")   # its own db host: opened to the app
    if stage != "1":                                           # over TLS only, as RDS
        entries = v["postgresql_hba_entries"]                  # the app's role and the owner
        assert [e["type"] for e in entries] == ["hostssl"] * 2
        assert {e["user"] for e in entries} == {"{{ shop_db_user }}", "{{ shop_db_owner }}"}


def test_the_shoplab_arm_changes_nothing_and_unknown_arms_are_refused():
    assert arms.arm_vars("shoplab", "2") == {"lab_arm": "shoplab"}
    with pytest.raises(ValueError, match="arm"):
        arms.arm_vars("fastest", "2")


def test_each_experiment_is_two_arms_of_the_reference_shape_that_differ_in_one_setting():
    base = arms.arm_vars("reference_shaped", "2")
    for without, with_ in arms.EXPERIMENTS.values():
        a, b = arms.arm_vars(without, "2"), arms.arm_vars(with_, "2")
        differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)} - {"lab_arm"}
        assert len(differ) <= 1, differ      # the probes differ outside Ansible: no var at all
        assert a["shop_app_db_pool_max_size"] == base["shop_app_db_pool_max_size"]
    session = arms.arm_vars("reference_pgbouncer_session", "2")
    assert session["shop_db_via_pgbouncer"] is True and session["pgbouncer_pool_mode"] == "session"
    assert "postgresql_hba_entries" not in session     # pgbouncer reaches it on loopback
    # the over-commit is the experiment: the pool budget would refuse it, and only it
    budget = pool_budget(2, 1, 25, 87, 3, 5, {"pool_mode": "session", "max_client_conn": 400,
                                              "default_pool_size": 20, "reserve_pool_size": 5,
                                              "max_db_connections": 40})
    assert not budget["ok"] and arms.DEPLOY_SKIP_TAGS == {"reference_pgbouncer_session": "pool_budget"}
    fast, slow = (arms.health_checks(a, "2") for a in arms.EXPERIMENTS["health_checks"])
    assert (fast["interval_s"], slow["interval_s"]) == (5, 30) and fast["path"] == slow["path"]
    # the reference's own: only its stage 3 probed a route that queries the database
    assert arms.health_checks("reference_shaped", "3")["interval_s"] == 30
    assert arms.health_checks("reference_shaped", "2") is None
    assert arms.health_checks("shoplab", "3") is None


def test_one_call_gives_the_podman_lines_and_the_extra_vars_of_every_lab_host(tmp_path, capsys):
    import json
    from loadtest.capacity import host_tiers
    out = tmp_path / "sizes.json"
    assert lab_sizes.main(["ansible/inventories/lab-stage2", "--json", str(out)]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines()}
    assert set(lines) == {"lb1", "app1", "app2", "db1", "redis1", "mon1"}
    assert lines["app1"][1:3] == ["shoplab-s2-app1", "app,lb"] and "--cpuset-cpus=0" in lines["app1"]
    assert lines["lb1"][1:3] == ["shoplab-s2-lb1", "alb"]
    data = json.loads(out.read_text())
    assert data["lab_sizes"]["app1"]["label"] == lines["app1"][3]
    tiers = host_tiers(data)        # what a capacity round reads: no second inventory pass
    assert tiers["shoplab-s2-mon1"] == "monitoring" and tiers["shoplab-s2-db1"] == "db"
    # the ALB's stand-in is sized and judged as the load balancer; nginx rides on the app hosts
    assert tiers["shoplab-s2-lb1"] == "lb" and tiers["shoplab-s2-app1"] == "app"
    assert data["lab_sizes"]["mon1"]["cpus"] is None        # beside the generator, unlimited
    # the lab's instrument costs its scaled-down hosts as little as it can
    assert data["monitoring_scrape_interval"] == "5s"
    assert "systemd" in data["monitoring_node_exporter_disabled_collectors"]
