"""The stage shapes table (capacity/shapes.py) is the one place for sizing facts: the layers
that cannot import it hold no copy of their own that could drift from it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from capacity import instances, shapes
from capacity.pool_budget import pool_budget

ROOT = Path(__file__).resolve().parents[2]
SIZING_KEYS = ["gunicornWorkers", "gunicornThreads", "dbPoolMaxSize", "dbMaxConnections",
               "instanceType", "appCount", "dbInstanceClass", "cacheNodeType", "taskCpu",
               "taskMemory", "taskCount", "taskMinCount", "taskMaxCount", "k3sInstanceType"]


def test_every_class_a_stage_names_is_known():
    for s in shapes.SHAPES.values():
        for name in filter(None, (s.app_class, s.db_class, s.cache_class)):
            assert instances.get(name).vcpu > 0


@pytest.mark.parametrize("stage", sorted(shapes.SHAPES))
def test_every_stage_fits_its_database_at_its_autoscaling_ceiling(stage):
    s = shapes.shape(stage)
    budget = pool_budget(s.app_max_copies, s.workers, s.pool_max_size, s.db_max_connections,
                         superuser_reserved=3, reserved=5)
    assert budget["ok"], budget["message"]


def test_the_shop_app_role_defaults_are_stage_1s_shape():
    # the role applied alone (molecule) is stage 1's one host; site.yml sets every stage's
    defaults = yaml.safe_load((ROOT / "roles/shop_app/defaults/main.yml").read_text())
    one = shapes.shape("1")
    assert (defaults["shop_app_gunicorn_workers"], defaults["shop_app_gunicorn_threads"],
            defaults["shop_app_db_pool_max_size"]) == (one.workers, one.threads, one.pool_max_size)


@pytest.mark.parametrize("path", ["ansible/inventories", "Pulumi.stage1.yaml", "Pulumi.stage2.yaml",
                                  "Pulumi.stage3.yaml", "Pulumi.stage4.yaml"])
def test_no_inventory_or_stack_file_repeats_a_sizing_fact(path):
    files = [ROOT / path] if (ROOT / path).is_file() else sorted((ROOT / path).rglob("*.yml"))
    ansible_keys = ["shop_app_gunicorn_workers", "shop_app_gunicorn_threads",
                    "shop_app_db_pool_max_size", "postgresql_max_connections"]
    pattern = re.compile(r"^\s*(shoplab:)?(%s):" % "|".join(SIZING_KEYS + ansible_keys), re.M)
    offenders = [f"{f.relative_to(ROOT)}: {m.group(0).strip()}" for f in files
                 for m in pattern.finditer(f.read_text())]
    assert offenders == []


def test_the_cli_prints_one_fact_for_shell_scripts():
    run = subprocess.run([sys.executable, "-m", "capacity.shapes", "3", "workers"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == str(shapes.shape("3").workers)
    whole = subprocess.run([sys.executable, "-m", "capacity.shapes", "stage2"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert json.loads(whole.stdout)["pool_max_size"] == shapes.shape("2").pool_max_size
    bad = subprocess.run([sys.executable, "-m", "capacity.shapes", "9"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "expected one of" in bad.stderr


def test_fargate_sizes_are_quotas_of_their_cpu_units():
    task = instances.get("fargate-512-1024")
    assert (task.vcpu, task.memory_mib, task.burstable) == (0.5, 1024, False)
    with pytest.raises(KeyError, match="unknown instance class"):
        instances.get("m9.enormous")
