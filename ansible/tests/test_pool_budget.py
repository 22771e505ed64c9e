"""The pool budget: the pure arithmetic, and site.yml refusing an over-committed inventory.

The playbook runs only its first play (--tags pool_budget): assert and include_vars run on the
controller, so no host of the inventory has to exist.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from capacity.pool_budget import pool_budget, rds_max_connections  # noqa: E402

PGB = {"pool_mode": "transaction", "max_client_conn": 400, "default_pool_size": 20,
       "reserve_pool_size": 5, "max_db_connections": 40}


def test_reference_failure_is_refused():
    # seed-system.md 8: 2 copies x 25 connections against ~87 on RDS, more copies -> exhaustion
    r = pool_budget(app_hosts=4, workers=1, pool_max_size=25, max_connections=87,
                    superuser_reserved=3, reserved=0)
    assert not r["ok"] and r["demand"] == 100 and r["postgres_available"] == 84
    assert "100" in r["message"] and "84" in r["message"]


def test_direct_pools_that_fit():
    r = pool_budget(2, 2, 10, 100, 3, 5)
    assert r["ok"] and r["demand"] == 40 and r["postgres_available"] == 92


def test_exact_fit_is_allowed():
    assert pool_budget(2, 2, 23, 100, 3, 5)["ok"]           # 92 == 92
    assert not pool_budget(2, 2, 24, 100, 3, 5)["ok"]       # 96 > 92


def test_pgbouncer_multiplexes_many_clients_onto_few_servers():
    r = pool_budget(2, 4, 25, 60, 3, 5, PGB)                # 200 clients, 25 servers, 52 free
    assert r["ok"] and r["server_connections"] == 25 and r["client_limit"] == 400


def test_pgbouncer_client_limit():
    r = pool_budget(2, 4, 60, 60, 3, 5, PGB)                # 480 > 400
    assert not r["ok"] and "max_client_conn 400" in r["message"]


def test_pgbouncer_server_side_must_fit_postgres():
    r = pool_budget(1, 1, 1, 30, 3, 5, dict(PGB, default_pool_size=30, max_db_connections=0))
    assert not r["ok"] and "35 server connections" in r["message"]
    capped = pool_budget(1, 1, 1, 30, 3, 5, dict(PGB, default_pool_size=30, max_db_connections=20))
    assert capped["ok"] and capped["server_connections"] == 20


def test_session_mode_needs_one_server_per_client():
    r = pool_budget(2, 2, 10, 100, 3, 5, dict(PGB, pool_mode="session"))
    assert not r["ok"] and "session mode" in r["message"]


def test_negative_input_rejected():
    with pytest.raises(ValueError):
        pool_budget(-1, 2, 10, 100)


@pytest.mark.parametrize("memory,expected", [
    (1024**3, 112),                    # nominal 1 GiB (DBInstanceClassMemory is a bit lower)
    (int(0.78 * 1024**3), 87),         # what db.t3.micro really reports
    (1024**4, 5000),                   # the cap
])
def test_rds_formula(memory, expected):
    assert rds_max_connections(memory) == expected


def run_budget_play(inventory, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".state" / "collections"))
    return subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), str(ROOT / "ansible" / "site.yml"),
         "-i", str(inventory), "--tags", "pool_budget", *extra],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("stage", ["lab-stage1", "lab-stage2", "lab-stage3"])
def test_lab_inventories_fit(stage):
    r = run_budget_play(ROOT / "ansible" / "inventories" / stage)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pool budget OK" in r.stdout


def test_over_committed_inventory_is_refused():
    r = run_budget_play(ROOT / "ansible" / "inventories" / "lab-stage2",
                        "-e", "shop_app_gunicorn_workers=8", "-e", "shop_app_db_pool_max_size=30")
    assert r.returncode != 0
    assert "pool budget exceeded: 2 app hosts x 8 workers x DB_POOL_MAX_SIZE 30 = 480" in r.stdout
    assert "max_client_conn 400" in r.stdout


def test_database_side_over_commit_is_refused():
    # pgbouncer allowed to open more server connections than Postgres has left (50 > 42)
    r = run_budget_play(ROOT / "ansible" / "inventories" / "lab-stage1",
                        "-e", "pgbouncer_default_pool_size=45", "-e", "pgbouncer_max_db_connections=0")
    assert r.returncode != 0
    assert "pgbouncer may open 50 server connections" in r.stdout
    assert "Postgres max_connections 50 - superuser_reserved 3 - reserved 5 = 42" in r.stdout


def test_managed_database_uses_the_rds_formula(tmp_path):
    # AWS stage 2 shape: app hosts only, pools straight to RDS db.t3.micro (no pgbouncer)
    inv = tmp_path / "hosts.yml"
    inv.write_text(json.dumps({"all": {
        "vars": {"shoplab_stage": "2",
                 "shop_managed_db_max_connections": "{{ 837000000 | rds_max_connections }}",
                 "shop_managed_db_reserved": 5},
        "children": {"app": {"hosts": {"app1": {}, "app2": {}}}}}}))
    # the stage's shape sets workers and pool size: a departure from it is an extra var
    pool = ("-e", "shop_app_db_pool_max_size=25")
    ok = run_budget_play(inv, *pool, "-e", "shop_app_gunicorn_workers=1")
    assert ok.returncode == 0, ok.stdout + ok.stderr      # 50 <= 87 - 3 - 5
    refused = run_budget_play(inv, *pool, "-e", "shop_app_gunicorn_workers=2")
    assert refused.returncode != 0
    assert "100 connections exceed Postgres max_connections 87" in refused.stdout


# The AWS inventories on recorded stack outputs (stage 2: pools straight to RDS, with the
# stack's max_connections): test_aws_inventories.py, test_pool_budget_on_the_recorded_stacks.
