"""pulumi/README.md, "From an empty account to a working shop": each stage's block walked as
written, on the mocks and the Ansible inventories.

Every command of a block is one the walk knows, or one it names as reachable only with an
account, a registry or DNS (``NOT_HERE``); anything else fails the test, so the README cannot
document a step nobody checked. ``pulumi config set`` builds the stack's config from nothing
but the stack file (no test operator's values): a required setting the README forgets fails
the ``pulumi up`` that follows. ``pulumi stack output`` reads the run's outputs (``[secret]``
where the CLI would print it so), into the file the inventory reads; ``ansible-playbook`` runs
on that inventory with the test vault, listing hosts and tasks (no host is reachable here).
"""
from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from ansible_test_support import ROOT, ansible_env, run

sys.path.insert(0, str(ROOT / "tests" / "pulumi"))
from stack_harness import (IMAGE_DIGEST, OPERATOR_CONFIG, OPERATOR_SECRETS,  # noqa: E402
                           run_stack)

README = ROOT / "pulumi" / "README.md"
BLOCK = re.compile(r"<!-- walk: (stage\d) -->\n```sh\n(.*?)```", re.S)
# what only the real world does, by the command's first word
NOT_HERE = {
    "curl": "the internet (the live shop; stage 2's RDS CA bundle)",
    "aws": "an AWS account (ECR login)",
    "make": "the image build (make app-image; tests/container builds it)",
    "podman": "pushing to ECR",
    "V": "the image's version, for the push",
}
# values the README takes from the operator's files (`"$(cat ...)"`): the harness's test values
FROM_FILES = {"shoplab:sshPublicKey": OPERATOR_CONFIG["shoplab:sshPublicKey"],
              "shoplab:imageDigest": IMAGE_DIGEST,
              "shoplab:kubeconfig": OPERATOR_SECRETS["shoplab:kubeconfig"]}


def blocks() -> dict[str, list[list[str]]]:
    """{stage: [command as argv, ...]}, `a && b` as two commands."""
    found = {}
    for stage, text in BLOCK.findall(README.read_text(encoding="utf-8")):
        commands = []
        for line in text.splitlines():
            words = shlex.split(line, comments=True)
            while "&&" in words:
                i = words.index("&&")
                commands.append(words[:i])
                words = words[i + 1:]
            if words:
                commands.append(words)
        found[stage] = commands
    return found


def inner_command(substitution: str) -> list[str]:
    """``$(pulumi ...)`` -> the argv of the command inside."""
    return shlex.split(substitution[2:].rstrip(")"))


def test_every_stage_has_its_walk():
    assert sorted(blocks()) == ["stage1", "stage2", "stage3", "stage4"]


class Walk:
    def __init__(self, stage: str, inventory: Path, tmp: Path, session_tmp: Path):
        self.stage, self.inventory, self.tmp, self.session_tmp = stage, inventory, tmp, session_tmp
        self.config: dict = {}
        self.secrets: dict = {}
        self.run = None
        self.outputs_file: Path | None = None
        self.skipped: list[str] = []
        self.playbook_output = ""

    def __call__(self, argv: list[str]) -> None:
        head = argv[0].split("=", 1)
        if len(head) == 2 and head[1].startswith("$(pulumi"):      # NAME=$(pulumi ...)
            return self(inner_command(" ".join([head[1], *argv[1:]])))
        if head[0] in NOT_HERE:
            self.skipped.append(f"{' '.join(argv)}: {NOT_HERE[head[0]]}")
            for arg in argv[1:]:          # what it takes from the stack is still walked
                if arg.startswith("$(pulumi"):
                    self(inner_command(arg))
            return
        handler = {"pulumi": self.pulumi, "ansible-vault": self.vault,
                   "ansible-playbook": self.playbook, "mkdir": lambda _: None,
                   "export": self.export}.get(argv[0])
        assert handler, f"{self.stage}: the walk does not know `{' '.join(argv)}`"
        handler(argv)

    def _stack(self, argv: list[str]) -> None:
        assert argv[argv.index("--stack") + 1] == self.stage, argv

    def pulumi(self, argv: list[str]) -> None:
        verb = argv[1:3] if argv[1] in ("config", "stack") else argv[1:2]
        if verb == ["stack", "init"]:
            assert argv[3] == self.stage
            return
        self._stack(argv)
        args = [a for i, a in enumerate(argv[3:], 3)
                if not a.startswith("--") and argv[i - 1] != "--stack"]
        if verb == ["config", "set"]:
            key, value = args
            path = "--path" in argv
            name = re.sub(r"\[\d+\]$", "", key) if path else key
            name = name if ":" in name else f"shoplab:{name}"
            if "$(" in value:
                value = FROM_FILES[name]
            target = self.secrets if "--secret" in argv else self.config
            target[name] = [value] if path else value
        elif verb == ["up"]:
            self.run = run_stack(self.stage, overrides=self.config, secrets=self.secrets,
                                 operator=False)
        elif verb == ["stack", "output"]:
            assert self.run is not None, "an output before any `up`"
            if "--json" in argv:
                shown = {k: (v if "--show-secrets" in argv or k not in self.run.secret_outputs
                             else "[secret]") for k, v in self.run.outputs.items()}
                target = argv[argv.index(">") + 1]
                assert target == f".state/pulumi/{self.stage}-outputs.json"
                self.outputs_file = self.tmp / f"{self.stage}-outputs.json"
                self.outputs_file.write_text(json.dumps(shown))
            else:
                [name] = [a for a in args if a != ">"]
                assert name in self.run.outputs, f"no output {name}"
        else:
            raise AssertionError(f"{self.stage}: the walk does not know `{' '.join(argv)}`")

    def vault(self, argv: list[str]) -> None:
        """The operator writes the stage's vault; the walk's inventory copy has the test one."""
        assert argv[1] == "create" and "--encrypt-vault-id" in argv
        assert argv[argv.index("--encrypt-vault-id") + 1] == "aws"
        expected = f"ansible/inventories/aws-{self.stage}/group_vars/all/vault.yml"
        assert argv[-1] == expected
        assert (self.inventory / "group_vars" / "all" / "vault.yml").read_text().startswith(
            "$ANSIBLE_VAULT;1.2;AES256;aws\n")

    def export(self, argv: list[str]) -> None:
        assert argv[1].split("=")[0] == "SHOPLAB_VAULT_PASSWORD"   # the harness sets its own

    def playbook(self, argv: list[str]) -> None:
        assert self.outputs_file is not None, "the playbook before the outputs were saved"
        inv = argv[argv.index("-i") + 1]
        assert inv == f"ansible/inventories/aws-{self.stage}"
        args = [str(self.inventory) if a == inv else a for a in argv[1:]]
        env = ansible_env(self.session_tmp, SHOPLAB_PULUMI_OUTPUTS=str(self.outputs_file))
        listed = run("ansible-playbook", *args, "--list-hosts", "--list-tasks", env=env)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        self.playbook_output += listed.stdout


@pytest.mark.parametrize("stage", ["stage1", "stage2", "stage3", "stage4"])
def test_the_documented_sequence_builds_and_configures_the_stage(stage, session_tmp,
                                                                  aws_inventories, tmp_path):
    walk = Walk(stage, aws_inventories[int(stage[-1])], tmp_path, session_tmp)
    for argv in blocks()[stage]:
        walk(argv)
    out = walk.run.outputs
    assert out["url"] == "https://shop.example.com/"
    if stage in ("stage1", "stage2"):     # the hosts get the shop, migrated
        assert "shop_app : Apply pending migrations" in walk.playbook_output
    if stage == "stage3":                 # the second `up` runs the pushed image
        assert out["cluster_name"] and "next_step" not in out
    if stage == "stage4":                 # the cluster, then the shop's objects on it
        assert "k3s : " in walk.playbook_output and "istio : " in walk.playbook_output
        assert walk.run.mocks.of_type("kubernetes:apps/v1:Deployment")
    # what the walk could not take: the live shop, and on stage 3 the image's build and push
    skipped = {step.split()[0].split("=")[0] for step in walk.skipped}
    assert skipped == ({"curl", "make", "aws", "V", "podman"} if stage == "stage3" else {"curl"})
