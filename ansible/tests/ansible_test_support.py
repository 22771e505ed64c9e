"""Shared by ansible/tests (conftest.py imports the fixtures): how the tests call Ansible, and
the AWS inventories they walk.

Every command runs from the repository root with its ansible.cfg (as an operator would), the
collections of `make collections`, a fact cache of its own (the repository's, under .state,
holds the lab's facts for host names the AWS inventories use too), and SHOPLAB_VAULT_PASSWORD
set to a test value. The AWS inventories are walked as copies (tmp_path) of the committed
directories without their vault files (real ones would be encrypted with a password the tests
do not have), plus a test-only vault encrypted for the `aws` id with the test value.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLIENT = "ansible/vault-password-client.sh"
AWS_VAULT_ID = f"aws@{CLIENT}"
TEST_PASSWORD = "test-only-aws-vault-password"
OUTPUTS = ROOT / "ansible" / "tests" / "pulumi_outputs"
# what the aws vault holds (roles/README.md, "Secrets"): test values only
TEST_VAULT = {
    "vault_shop_db_owner_password": "test-db-owner-password",
    "vault_shop_db_password": "test-db-password",
    "vault_redis_password": "test-redis-password",
    "vault_jwt_secret": "test-jwt-secret",
    "vault_stripe_secret_key": "sk_test_inventory_tests",
    "vault_stripe_publishable_key": "pk_test_inventory_tests",
    "vault_stripe_webhook_secret": "whsec_inventory_tests",
    "vault_k3s_token": "test-k3s-token",
}


def ansible_env(tmp: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "SHOPLAB_"))}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".state" / "collections"),
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"),
               SHOPLAB_VAULT_PASSWORD=TEST_PASSWORD,
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update(extra)
    return env


def run(tool: str, *args: str, env: dict, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def debug_vars(inv: Path, host: str, env: dict, *names: str, vault_id: str | None = None) -> dict:
    """``names`` as a task of site.yml on ``host`` sees them, templated (debug runs on the
    controller, no host is reached): the playbook directory's group_vars apply, as they do to
    site.yml. ``vault_id``: beside ansible.cfg's (the lab's)."""
    wanted = ", ".join(f"'{n}': {n}" for n in names)
    r = run("ansible", host, "-i", str(inv), "--playbook-dir", str(ROOT / "ansible"),
            *(["--vault-id", vault_id] if vault_id else []), "-m", "ansible.builtin.debug",
            "-a", f"msg={{{{ {{{wanted}}} | to_json }}}}",
            env=dict(env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                     ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    # the JSON callback's document (profile_tasks, from ansible.cfg, prints around it)
    doc, _ = json.JSONDecoder().raw_decode(r.stdout[r.stdout.index("{"):])
    msg = doc["plays"][0]["tasks"][0]["hosts"][host]["msg"]
    return json.loads(msg) if isinstance(msg, str) else msg


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ansible-tests")


@pytest.fixture(scope="session")
def test_vault(session_tmp) -> Path:
    """A vault file encrypted for the `aws` id with the test password, as the docs say to."""
    path = session_tmp / "aws-test-vault.yml"
    path.write_text("---\n" + "".join(f"{k}: {v}\n" for k, v in TEST_VAULT.items()))
    r = run("ansible-vault", "encrypt", "--vault-id", AWS_VAULT_ID, "--encrypt-vault-id", "aws",
            str(path), env=ansible_env(session_tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;aws\n")
    return path


def copy_aws_inventory(stage: int, dest: Path, vault: Path | None) -> Path:
    """ansible/inventories/aws-stageN as a copy under dest (links resolved, vault files left
    out, pulumi.py still the repository's script), with `vault` as group_vars/all/vault.yml."""
    src = ROOT / "ansible" / "inventories" / f"aws-stage{stage}"
    inv = dest / f"aws-stage{stage}"
    shutil.copytree(src, inv, symlinks=False,
                    ignore=lambda _d, names: [n for n in names if n.startswith("vault")
                                              or n == "pulumi.py"])
    (inv / "pulumi.py").symlink_to(ROOT / "ansible" / "pulumi_inventory.py")
    if vault is not None:
        shutil.copy(vault, inv / "group_vars" / "all" / "vault.yml")
    return inv


@pytest.fixture(scope="session")
def aws_inventories(session_tmp, test_vault) -> dict[int, Path]:
    dest = session_tmp / "inventories"
    dest.mkdir()
    return {n: copy_aws_inventory(n, dest, test_vault) for n in (1, 2, 3, 4)}


def outputs_env(session_tmp: Path, stage: int, **extra: str) -> dict:
    return ansible_env(session_tmp, SHOPLAB_PULUMI_OUTPUTS=str(OUTPUTS / f"stage{stage}.json"),
                       **extra)


def inventory_list(inv: Path, env: dict, *extra: str) -> dict:
    """`ansible-inventory --list` of an AWS inventory, with the aws vault id as documented."""
    r = run("ansible-inventory", "-i", str(inv), "--list", "--vault-id", AWS_VAULT_ID, *extra,
            env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)
