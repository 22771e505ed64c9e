"""The AWS inventories walked as documented, on recorded stack outputs (pulumi_outputs/).

The documented sequence (roles/README.md, "AWS inventories"; pulumi/README.md, "Ansible"):
`pulumi stack output --json --stack stageN > .state/pulumi/stageN-outputs.json`, then
`ansible-playbook ansible/site.yml (stage4.yml for stage 4) -i ansible/inventories/aws-stageN
--vault-id aws@ansible/vault-password-client.sh`. Here the outputs file is a recorded one
(SHOPLAB_PULUMI_OUTPUTS), the inventory a copy of the committed one with a test-only aws vault
(ansible_test_support.py), and the playbooks run only as far as they can without a host: syntax, host
and task lists, the pool-budget play (controller-side), and wait-for-boot.yml against this
machine with a stand-in cloud-init.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from ansible_test_support import (AWS_VAULT_ID, OUTPUTS, ROOT, TEST_VAULT, ansible_env,
                                  copy_aws_inventory, debug_vars, inventory_list, outputs_env,
                                  run)

sys.path.insert(0, str(ROOT / "ansible"))
import pulumi_inventory  # noqa: E402

PLAYBOOK = {1: "ansible/site.yml", 2: "ansible/site.yml", 3: "ansible/site.yml",
            4: "ansible/stage4.yml"}


def recorded(stage: int) -> dict:
    return json.loads((OUTPUTS / f"stage{stage}.json").read_text())


# --- the recordings are what the stacks export --------------------------------------------

@pytest.fixture(scope="module")
def stack_outputs() -> dict:
    """Each stack's exports, from its program run with Pulumi's mocks (tests/pulumi's harness)."""
    code = ("import json, stack_harness as h\n"
            "print(json.dumps({s: {'outputs': r.outputs, 'secret': sorted(r.secret_outputs)}\n"
            "                  for s in h.STAGES for r in [h.run_stack(s)]}, default=str))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(ROOT / "pulumi"), str(ROOT / "tests" / "pulumi")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=600)
    if r.returncode != 0 and "ModuleNotFoundError" in r.stderr and "pulumi" in r.stderr:
        pytest.skip("the Pulumi SDK is not installed (make test-pulumi installs it)")
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_recorded_outputs_are_shaped_like_the_stacks_outputs(stage, stack_outputs):
    rec, stack = recorded(stage), stack_outputs[f"stage{stage}"]
    exported = set(stack["outputs"])
    assert exported <= set(rec), f"not recorded: {sorted(exported - set(rec))}"
    assert set(rec) == exported, f"recorded, not exported: {sorted(set(rec) - exported)}"
    for name in exported:
        if name in stack["secret"]:
            # `pulumi stack output --json` without --show-secrets
            assert rec[name] == "[secret]", name
        else:
            assert rec[name] != "[secret]", name
            assert type(rec[name]) is type(stack["outputs"][name]), name


# --- the inventory script -------------------------------------------------------------------

def test_outputs_are_read_inside_the_repository(monkeypatch):
    monkeypatch.delenv("SHOPLAB_PULUMI_OUTPUTS", raising=False)
    assert (pulumi_inventory.ROOT / "ansible.cfg").is_file()          # ROOT is the repo root
    assert pulumi_inventory.outputs_path("stage2") == ROOT / ".state" / "pulumi" / "stage2-outputs.json"
    monkeypatch.setenv("SHOPLAB_PULUMI_OUTPUTS", "/elsewhere/out.json")
    assert pulumi_inventory.outputs_path("stage2") == Path("/elsewhere/out.json")


def test_every_aws_stage_has_an_inventory_linking_the_script():
    for n in (1, 2, 3, 4):
        link = ROOT / "ansible" / "inventories" / f"aws-stage{n}" / "pulumi.py"
        assert link.is_symlink() and link.resolve() == ROOT / "ansible" / "pulumi_inventory.py"
        assert os.access(link, os.X_OK)


def hostvars(listed: dict, host: str) -> dict:
    return listed["_meta"]["hostvars"][host]


def no_secret_anywhere(listed: dict) -> None:
    text = json.dumps(listed)
    assert "[secret]" not in text and "pulumi_db_password" not in text
    assert "pulumi_database_url" not in text


def test_stage1_inventory(session_tmp, aws_inventories):
    env = outputs_env(session_tmp, 1)
    listed = inventory_list(aws_inventories[1], env)
    for group in ("lb", "app", "db", "redis"):
        assert listed[group]["hosts"] == ["shop1"]
    shop1 = hostvars(listed, "shop1")
    assert shop1["ansible_host"] == "198.51.100.20" and shop1["ansible_user"] == "ansible"
    assert shop1["ansible_connection"] == "ssh"
    assert shop1["shop_private_address"] == "127.0.0.1"          # every tier on loopback
    assert shop1["pulumi_data_volume_id"] == "vol-0a1b2c3d4e5f67890"
    assert shop1["pulumi_data_volume_device"] == \
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1b2c3d4e5f67890"
    assert shop1["ansible_become_method"] == "ansible.builtin.sudo"
    assert shop1["shoplab_wait_for_cloud_init"] is True
    # only how: whether and whom are the plays' keywords, which these variables would beat
    assert not {"ansible_become", "ansible_become_user", "become_method"} & set(shop1)
    no_secret_anywhere(listed)


def test_stage2_inventory(session_tmp, aws_inventories):
    listed = inventory_list(aws_inventories[2], outputs_env(session_tmp, 2))
    assert listed["app"]["hosts"] == ["app1", "app2"] == listed["lb"]["hosts"]
    assert "db" not in listed and "redis" not in listed                # RDS, ElastiCache
    assert hostvars(listed, "app1")["ansible_host"] == "198.51.100.31"
    assert hostvars(listed, "app2")["shop_private_address"] == "10.20.1.32"
    assert hostvars(listed, "app2")["pulumi_db_max_connections"] == 80
    assert hostvars(listed, "app1")["shoplab_wait_for_cloud_init"] is True
    no_secret_anywhere(listed)


def test_stage3_inventory_has_no_host_but_the_stacks_facts(session_tmp, aws_inventories):
    env = outputs_env(session_tmp, 3)
    listed = inventory_list(aws_inventories[3], env)
    assert listed["_meta"]["hostvars"] == {}
    assert [g for g in listed if g not in ("_meta", "all")] == []
    exported = inventory_list(aws_inventories[3], env, "--export")
    facts = exported["all"]["vars"]
    assert facts["pulumi_cluster_name"] == "shop-cluster-5d4c3b2"
    assert facts["pulumi_service_name"] == "shop-service-9a8b7c6"
    assert facts["pulumi_repository_url"].endswith(".amazonaws.com/shoplab-stage3-shop-repo-7f3e2a1")
    assert "no host" in facts["shoplab_inventory_note"]
    no_secret_anywhere(exported)


def test_stage4_inventory(session_tmp, aws_inventories):
    listed = inventory_list(aws_inventories[4], outputs_env(session_tmp, 4))
    assert listed["stage4"]["hosts"] == ["k3s1"]                    # ansible/stage4.yml's group
    k3s1 = hostvars(listed, "k3s1")
    assert k3s1["ansible_host"] == "198.51.100.40" and k3s1["shop_private_address"] == "10.20.0.40"
    assert k3s1["shoplab_wait_for_cloud_init"] is True
    no_secret_anywhere(listed)


# variables on a host of an AWS inventory, as site.yml sees them
aws_vars = partial(debug_vars, vault_id=AWS_VAULT_ID)


def test_stage1_volume_becomes_postgresqls_data_device(session_tmp, aws_inventories, tmp_path):
    env = outputs_env(session_tmp, 1)
    got = aws_vars(aws_inventories[1], "shop1", env, "postgresql_data_device")
    # the path the stack exports: the NVMe by-id link of the volume on a Nitro type
    assert got["postgresql_data_device"] == \
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1b2c3d4e5f67890"
    # a stack that exports no volume: the role's no-op
    older = {k: v for k, v in recorded(1).items() if not k.startswith("data_volume")}
    (tmp_path / "stage1.json").write_text(json.dumps(older))
    env = ansible_env(session_tmp, SHOPLAB_PULUMI_OUTPUTS=str(tmp_path / "stage1.json"))
    assert aws_vars(aws_inventories[1], "shop1", env, "postgresql_data_device") == \
        {"postgresql_data_device": ""}


def test_stage2_app_reaches_elasticache_over_tls_with_the_vaults_auth_token(
        session_tmp, aws_inventories):
    """The stack's plain outputs (address, port) and the vault's secret (ElastiCache's AUTH
    token), never the secret redis_url output, which the inventory does not copy."""
    out, env = recorded(2), outputs_env(session_tmp, 2)
    redis = aws_vars(aws_inventories[2], "app1", env, "shop_app_redis_url")
    assert redis["shop_app_redis_url"] == (
        f"rediss://:{TEST_VAULT['vault_redis_password']}@{out['redis_address']}:"
        f"{out['redis_port']}/0")
    # verified against the system's trust store (Amazon's roots), not a CA of the lab's
    assert aws_vars(aws_inventories[2], "app1", env, "shop_app_redis_ca_src") == \
        {"shop_app_redis_ca_src": ""}


def test_stage2_app_is_its_own_role_and_the_master_user_only_migrates(session_tmp,
                                                                      aws_inventories):
    """The roles are the stack's: db_user the master (the migrations' URL), db_app_user the
    app's (DATABASE_URL); group_vars/all/roles.yml builds both URLs from them. Both verify RDS
    (the role's verify-full) against the CA bundle pulumi/README.md saves beside the outputs:
    no sslmode in the URL, which would win over it."""
    out, env = recorded(2), outputs_env(session_tmp, 2)
    got = {name: aws_vars(aws_inventories[2], "app1", env, name)[name]
           for name in ("shop_app_database_url", "shop_app_migration_database_url",
                        "shop_app_database_ca_src")}
    assert got.pop("shop_app_database_ca_src") == str(ROOT / ".state/pulumi/stage2-rds-ca.pem")
    endpoint = f"{out['db_address']}:{out['db_port']}/shop"
    assert got == {
        "shop_app_database_url":
            f"postgresql://{out['db_app_user']}:{TEST_VAULT['vault_shop_db_password']}@{endpoint}",
        "shop_app_migration_database_url":
            f"postgresql://{out['db_user']}:{TEST_VAULT['vault_shop_db_owner_password']}@{endpoint}"}
    assert out["db_user"] != out["db_app_user"]


def test_stage4_vars_from_the_outputs_the_artefacts_and_the_vault(session_tmp, aws_inventories):
    env = outputs_env(session_tmp, 4)
    inv = aws_inventories[4]
    assert aws_vars(inv, "k3s1", env, "k3s_tls_san")["k3s_tls_san"] == ["198.51.100.40", "10.20.0.40"]
    src = aws_vars(inv, "k3s1", env, "k3s_binary_src")["k3s_binary_src"]
    assert src.endswith("/.state/stage4/artifacts/k3s")               # the shared artefacts file
    # the cluster only: the workload and its Secret are the stack's (ShopWorkload)
    assert aws_vars(inv, "k3s1", env, "stage4_workload") == {"stage4_workload": False}
    key = aws_vars(inv, "k3s1", env, "istio_tls_key_src")["istio_tls_key_src"]
    assert key.endswith("/.state/stage4/tls/shop.key")
    assert aws_vars(inv, "k3s1", env, "k3s_token")["k3s_token"] == TEST_VAULT["vault_k3s_token"]


def test_stage4_artefacts_are_written_once_for_both_stage4_inventories():
    shared = ROOT / "ansible" / "vars" / "stage4_artifacts.yml"
    for inv in ("lab-stage4", "aws-stage4"):
        link = ROOT / "ansible" / "inventories" / inv / "group_vars" / "stage4" / "artifacts.yml"
        assert link.is_symlink() and link.resolve() == shared
        others = (link.parent / "main.yml").read_text()
        assert "k3s_binary_src" not in others and "istio_archive_src" not in others


@pytest.mark.parametrize("problem,message", [
    ("missing", "missing; run `mkdir -p"),
    ("wrong stage", "stage1 outputs lack host_public_ip"),
    ("not json", "Expecting value"),
])
def test_a_broken_inventory_fails_loudly(problem, message, session_tmp, aws_inventories, tmp_path):
    path = tmp_path / "outputs.json"
    if problem == "wrong stage":
        path.write_text(json.dumps(recorded(2)))
    elif problem == "not json":
        path.write_text("not json")
    env = ansible_env(session_tmp, SHOPLAB_PULUMI_OUTPUTS=str(path))
    r = run("ansible-inventory", "-i", str(aws_inventories[1]), "--list", env=env)
    assert r.returncode != 0                       # ansible.cfg: any_unparsed_is_failed
    assert message in r.stdout + r.stderr


def test_a_vault_not_labelled_aws_stops_the_inventory(session_tmp, tmp_path):
    """The trap vault_encrypt_identity = lab leaves: an AWS file encrypted without
    --encrypt-vault-id aws gets the lab's id. The inventory script refuses it."""
    inv = copy_aws_inventory(2, tmp_path, None)
    vault = inv / "group_vars" / "all" / "vault.yml"
    vault.write_text("vault_jwt_secret: x\n")
    env = outputs_env(session_tmp, 2)
    enc = run("ansible-vault", "encrypt", "--vault-id", AWS_VAULT_ID, str(vault), env=env)
    assert enc.returncode == 0, enc.stderr
    assert vault.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;lab\n")
    r = run("ansible-inventory", "-i", str(inv), "--list", "--vault-id", AWS_VAULT_ID, env=env)
    assert r.returncode != 0
    assert "not labelled 'aws'" in r.stderr and "vault id lab" in r.stderr


# --- the playbooks on each AWS inventory ----------------------------------------------------

def playbook(stage: int, inv: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return run("ansible-playbook", PLAYBOOK[stage], "-i", str(inv), "--vault-id", AWS_VAULT_ID,
               *args, env=env)


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_playbook_syntax_hosts_and_tasks(stage, session_tmp, aws_inventories):
    env = outputs_env(session_tmp, stage)
    inv = aws_inventories[stage]
    for book in {PLAYBOOK[1], PLAYBOOK[stage]}:                 # site.yml, and stage4.yml on 4
        syntax = run("ansible-playbook", book, "-i", str(inv), "--vault-id", AWS_VAULT_ID,
                     "--syntax-check", env=env)
        assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    listed = playbook(stage, inv, env, "--list-hosts", "--list-tasks")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    out = listed.stdout
    plays = hosts_by_play(out)
    assert plays[0][0] == "Wait for fresh hosts to finish booting (AWS)"        # imported first
    assert plays[0][1] == set().union(*(hosts for _, hosts in plays))    # the first, on every host
    by_name = dict(plays)
    if stage == 1:
        assert by_name["Database tier (PostgreSQL behind pgbouncer)"] == {"shop1"}
        assert "postgresql : Mount the data device at the data root (and in fstab)" in out
    elif stage == 2:
        assert by_name["App tier (gunicorn + the shop)"] == {"app1", "app2"}
        assert by_name["Database tier (PostgreSQL behind pgbouncer)"] == set()
    elif stage == 3:
        assert all(hosts == set() for _, hosts in plays)
    else:
        assert by_name["Stage 4 - k3s with Istio and the shop"] == {"k3s1"}
        assert "k3s : " in out and "istio : " in out


def hosts_by_play(listing: str) -> list[tuple[str, set]]:
    """`ansible-playbook --list-hosts` output -> [(play name, {hosts})] in play order."""
    plays, lines = [], listing.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"\s*play #\d+ \([^)]*\): (.*?)\tTAGS:", line)
        if m:
            count = int(re.search(r"hosts \((\d+)\):", lines[i + 2]).group(1))
            plays.append((m.group(1), {h.strip() for h in lines[i + 3:i + 3 + count]}))
    return plays


@pytest.mark.parametrize("stage", [1, 2])
def test_pool_budget_on_the_recorded_stacks(stage, session_tmp, aws_inventories):
    env = outputs_env(session_tmp, stage)
    r = playbook(stage, aws_inventories[stage], env, "--tags", "pool_budget",
                 "--skip-tags", "wait_for_boot")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pool budget OK" in r.stdout
    if stage == 2:                                   # straight to RDS: the stack's limit
        assert "Postgres max_connections 80" in r.stdout
        refused = playbook(stage, aws_inventories[stage], env, "--tags", "pool_budget",
                           "--skip-tags", "wait_for_boot", "-e", "shop_app_db_pool_max_size=25")
        assert refused.returncode != 0 and "100 connections exceed" in refused.stdout


# --- wait-for-boot.yml ----------------------------------------------------------------------

def test_lab_hosts_skip_the_wait_without_connecting(session_tmp):
    # lab-stage1's hosts are podman containers that do not exist here: any connection fails
    r = run("ansible-playbook", "ansible/wait-for-boot.yml", "-i", "ansible/inventories/lab-stage1",
            env=ansible_env(session_tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    recap = [line for line in r.stdout.splitlines() if line.startswith(("shop1 ", "mon1 "))]
    assert len(recap) == 2 and all("ok=0" in line and "unreachable=0" in line for line in recap), recap


@pytest.fixture
def fake_cloud_init(tmp_path):
    """`cloud-init` on PATH that logs its arguments and exits with $FAKE_CLOUD_INIT_RC."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "cloud-init"
    script.write_text('#!/bin/sh\necho "$@" >> "$FAKE_CLOUD_INIT_LOG"\n'
                      'echo "status: done"\nexit "${FAKE_CLOUD_INIT_RC:-0}"\n')
    script.chmod(0o755)
    return bin_dir, tmp_path / "calls.log"


@pytest.mark.parametrize("rc,check", [(0, False), (0, True), (2, False), (1, False)])
def test_aws_hosts_wait_for_cloud_init(rc, check, session_tmp, aws_inventories, fake_cloud_init):
    """On an AWS inventory the play connects (here: to this machine, ansible_connection=local)
    and runs `cloud-init status --wait`, also under --check; cloud-init's error fails the host."""
    bin_dir, log = fake_cloud_init
    env = outputs_env(session_tmp, 1, FAKE_CLOUD_INIT_RC=str(rc), FAKE_CLOUD_INIT_LOG=str(log),
                      ANSIBLE_CACHE_PLUGIN_CONNECTION=str(log.parent / "facts"))  # this machine's
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    r = run("ansible-playbook", "ansible/wait-for-boot.yml", "-i", str(aws_inventories[1]),
            "--vault-id", AWS_VAULT_ID, "-e", "ansible_connection=local",
            "-e", f"ansible_python_interpreter={sys.executable}", "-e", "shoplab_boot_timeout=30",
            *(["--check"] if check else []), env=env)
    assert log.read_text().split("\n")[0] == "status --wait"
    if rc == 1:
        assert r.returncode != 0 and "Wait for cloud-init to finish" in r.stdout
    else:
        assert r.returncode == 0, r.stdout + r.stderr
        assert ("cloud-init finished with recoverable errors" in r.stdout) == (rc == 2)
        assert "Gather this host's facts afresh" in r.stdout
