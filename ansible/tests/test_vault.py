"""Vault IDs: the client script's contract, the labels of the committed vault files, and that
every caller of Ansible in the repository uses the client script (roles/README.md, "Secrets")."""
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_test_support import AWS_VAULT_ID, CLIENT, ROOT, TEST_PASSWORD, ansible_env, run

LAB_DEFAULT = "shoplab-lab-only"     # documented in roles/README.md: lab-only values


def client(label: str | None, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLAB_")}
    return subprocess.run([str(ROOT / CLIENT), *(["--vault-id", label] if label else [])],
                          capture_output=True, text=True, env={**base, **env}, timeout=10)


def test_lab_gets_the_documented_default():
    r = client("lab")
    assert r.returncode == 0 and r.stdout == LAB_DEFAULT + "\n"


def test_lab_password_can_be_overridden():
    r = client("lab", SHOPLAB_VAULT_PASSWORD_LAB="another-lab-password",
               SHOPLAB_VAULT_PASSWORD="unrelated")
    assert r.returncode == 0 and r.stdout == "another-lab-password\n"


def test_aws_gets_its_variable():
    r = client("aws", SHOPLAB_VAULT_PASSWORD=TEST_PASSWORD)
    assert r.returncode == 0 and r.stdout == TEST_PASSWORD + "\n"


@pytest.mark.parametrize("env,reason", [
    ({}, "SHOPLAB_VAULT_PASSWORD is not set"),
    ({"SHOPLAB_VAULT_PASSWORD": ""}, "SHOPLAB_VAULT_PASSWORD is not set"),
    ({"SHOPLAB_VAULT_PASSWORD": LAB_DEFAULT}, "is the lab's password"),
    ({"SHOPLAB_VAULT_PASSWORD": "x", "SHOPLAB_VAULT_PASSWORD_LAB": "x"}, "is the lab's password"),
])
def test_aws_refuses_unset_or_the_lab_password(env, reason):
    r = client("aws", **env)
    assert r.returncode == 1 and r.stdout == ""
    assert reason in r.stderr


@pytest.mark.parametrize("label", ["default", "prod", None])
def test_other_ids_are_unknown(label):
    r = client(label)
    assert r.returncode == 2 and r.stdout == ""          # Ansible: no secret for this vault id


def vault_files() -> list:
    """(path, text) of every committed YAML file holding a vault (whole-file or inline)."""
    listed = subprocess.run(["git", "ls-files", "-z", "*.yml", "*.yaml"], capture_output=True,
                            text=True, cwd=ROOT, check=True).stdout.split("\0")
    out = []
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file() and not path.is_symlink():
            text = path.read_text()
            if any(line.strip().startswith("$ANSIBLE_VAULT;") for line in text.splitlines()):
                out.append((name, text))
    return out


def test_committed_vault_files_carry_the_id_of_their_target():
    found = vault_files()
    assert {n for n, _ in found} >= {"ansible/vault/lab.yml",
                                     "ansible/inventories/lab-stage4/group_vars/stage4/vault.yml"}
    for name, text in found:
        headers = [line.strip() for line in text.splitlines() if line.strip().startswith("$ANSIBLE_VAULT;")]
        expected = "aws" if "/aws-stage" in name else "lab"
        assert headers and all(h == f"$ANSIBLE_VAULT;1.2;AES256;{expected}" for h in headers), name


def test_the_lab_vaults_open_with_the_lab_id_only(tmp_path):
    env = ansible_env(tmp_path)
    for name in ("ansible/vault/lab.yml", "ansible/inventories/lab-stage4/group_vars/stage4/vault.yml"):
        opened = run("ansible-vault", "view", name, env=env)          # ansible.cfg's lab id
        assert opened.returncode == 0, opened.stderr
        assert "vault_" in opened.stdout
        # only the aws id (replacing ansible.cfg's list): vault_id_match tries no other password
        refused = run("ansible-vault", "view", name,
                      env=dict(env, ANSIBLE_VAULT_IDENTITY_LIST=AWS_VAULT_ID))
        assert refused.returncode != 0 and "vault_" not in refused.stdout


def test_an_aws_vault_cannot_be_made_without_the_aws_password(tmp_path):
    secret = tmp_path / "vault.yml"
    secret.write_text("vault_jwt_secret: real\n")
    env = ansible_env(tmp_path)
    del env["SHOPLAB_VAULT_PASSWORD"]
    r = run("ansible-vault", "encrypt", "--vault-id", AWS_VAULT_ID, "--encrypt-vault-id", "aws",
            str(secret), env=env)
    assert r.returncode != 0 and "SHOPLAB_VAULT_PASSWORD is not set" in r.stderr
    assert secret.read_text() == "vault_jwt_secret: real\n"              # left as it was
    r = run("ansible-vault", "encrypt", "--vault-id", AWS_VAULT_ID, "--encrypt-vault-id", "aws",
            str(secret), env=dict(env, SHOPLAB_VAULT_PASSWORD=LAB_DEFAULT))
    assert r.returncode != 0 and "is the lab's password" in r.stderr
    assert secret.read_text() == "vault_jwt_secret: real\n"


def test_an_aws_vault_is_labelled_aws_and_closed_to_the_lab_id(tmp_path):
    secret = tmp_path / "vault.yml"
    secret.write_text("vault_jwt_secret: real\n")
    env = ansible_env(tmp_path)
    made = run("ansible-vault", "encrypt", "--vault-id", AWS_VAULT_ID, "--encrypt-vault-id", "aws",
               str(secret), env=env)
    assert made.returncode == 0, made.stderr
    assert secret.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;aws\n")
    lab_only = run("ansible-vault", "view", str(secret), env=env)     # no --vault-id aws
    assert lab_only.returncode != 0 and "real" not in lab_only.stdout
    with_aws = run("ansible-vault", "view", "--vault-id", AWS_VAULT_ID, str(secret), env=env)
    assert with_aws.returncode == 0 and "vault_jwt_secret: real" in with_aws.stdout


def test_no_caller_uses_the_old_password_script():
    listed = subprocess.run(["git", "grep", "-l", "vault-password.sh", "--", ".",
                             ":!ansible/tests/test_vault.py"],
                            capture_output=True, text=True, cwd=ROOT)
    assert listed.stdout.split() == []
    assert not (ROOT / "ansible" / "vault-password.sh").exists()
    # molecule writes its own ansible.cfg: the stage-2 scenario names the client itself
    molecule = (ROOT / "ansible" / "molecule" / "stage2" / "molecule.yml").read_text()
    assert 'ANSIBLE_VAULT_IDENTITY_LIST: "lab@${MOLECULE_PROJECT_DIRECTORY}/vault-password-client.sh"' \
        in molecule
    assert (ROOT / "ansible" / "vault-password-client.sh").stat().st_mode & 0o111
