#!/usr/bin/env python3
"""Ansible dynamic inventory for the AWS stages, from a Pulumi stack's outputs.

The stage is the name of the inventory directory this file is called from
(ansible/inventories/aws-stageN/pulumi.py links here). The outputs come from the file that
`pulumi stack output --json --stack stageN > .state/pulumi/stageN-outputs.json` writes in the
repository root on a machine that deployed the stack, or from $SHOPLAB_PULUMI_OUTPUTS (a path
to such a file). Nothing here talks to Pulumi or AWS.

What each stage yields (outputs: pulumi/README.md, "Outputs"):
  stage1  host shop1 in lb, app, db, redis (ansible_host = host_public_ip, every tier on
          loopback); host vars pulumi_data_volume_id / pulumi_data_volume_device when the stack
          exports them (PostgreSQL's EBS volume: inventories/aws-stage1 turns them into
          postgresql_data_device)
  stage2  hosts app1..appN in app and lb (ansible_host = app_public_ips[i],
          shop_private_address = app_private_ips[i]); no db/redis host (RDS, ElastiCache)
  stage3  no host at all: ECS Fargate runs the shop, Ansible configures nothing. The stack's
          facts are still there as vars (pulumi_cluster_name, ...), so site.yml and
          stage4.yml match no host and change nothing (pulumi/README.md, "Ansible")
  stage4  host k3s1 in stage4 (ansible_host = k3s_public_ip, shop_private_address =
          k3s_private_ip), for ansible/stage4.yml
Every stage: each plain output `x` as the group var `pulumi_x` of all. Secret outputs
(db_password, database_url, redis_url, redis_auth_token; "[secret]" without --show-secrets)
are never copied: the secrets come from the AWS vault.

The inventory also refuses (exit 1) when a file of its group_vars/host_vars holds a vault
that is not labelled `aws` (`$ANSIBLE_VAULT;1.2;AES256;aws`): one encrypted without
`--encrypt-vault-id aws` carries the lab's id, and with it perhaps the lab's published password.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the repository root
SECRET_OUTPUTS = {"db_password", "db_app_password", "database_url", "migration_database_url",
                  "redis_url", "redis_auth_token"}
AWS_VAULT_ID = "aws"
REQUIRED = {
    "stage1": ("host_public_ip",),
    "stage2": ("app_public_ips", "app_private_ips"),
    "stage3": (),
    "stage4": ("k3s_public_ip", "k3s_private_ip"),
}
STAGE3_NOTE = ("stage 3 runs the shop on ECS Fargate: this inventory has no host, so site.yml "
               "and stage4.yml change nothing; deploys go through Pulumi and ECS")


class OutputsError(Exception):
    pass


def outputs_path(stage: str) -> Path:
    override = os.environ.get("SHOPLAB_PULUMI_OUTPUTS")
    return Path(override) if override else ROOT / ".state" / "pulumi" / f"{stage}-outputs.json"


def inventory(stage: str, out: dict) -> dict:
    if stage not in REQUIRED:
        raise OutputsError(f"no AWS inventory for {stage} (expected one of {', '.join(REQUIRED)})")
    missing = [k for k in REQUIRED[stage] if k not in out]
    if missing:
        raise OutputsError(f"{stage} outputs lack {', '.join(missing)}: not the outputs of stack {stage}?")
    ssh = {"ansible_user": out.get("ssh_user", "ansible"), "ansible_connection": "ssh"}
    hostvars: dict[str, dict] = {}
    groups: dict[str, list[str]] = {}
    all_vars = {"pulumi_" + k: v for k, v in out.items()
                if k not in SECRET_OUTPUTS and v != "[secret]"}
    if stage == "stage1":
        hostvars["shop1"] = {**ssh, "ansible_host": out["host_public_ip"],
                             # every tier on this host: the others are reached on loopback
                             "shop_private_address": "127.0.0.1"}
        for k in ("data_volume_id", "data_volume_device"):
            if k in out:
                hostvars["shop1"]["pulumi_" + k] = out[k]
        groups = {g: ["shop1"] for g in ("lb", "app", "db", "redis")}
    elif stage == "stage2":
        if len(out["app_public_ips"]) != len(out["app_private_ips"]):
            raise OutputsError("stage2 outputs: app_public_ips and app_private_ips differ in length")
        names = []
        for i, (public, private) in enumerate(zip(out["app_public_ips"], out["app_private_ips"]), 1):
            names.append(f"app{i}")
            hostvars[f"app{i}"] = {**ssh, "ansible_host": public, "shop_private_address": private}
        # every app host runs nginx (storefront + proxy to its own gunicorn) on the port the
        # ALB's target group uses; the ALB balances between the hosts
        groups = {"app": names, "lb": names}
    elif stage == "stage3":
        all_vars["shoplab_inventory_note"] = STAGE3_NOTE
    elif stage == "stage4":
        hostvars["k3s1"] = {**ssh, "ansible_host": out["k3s_public_ip"],
                            "shop_private_address": out["k3s_private_ip"]}
        groups = {"stage4": ["k3s1"]}
    result: dict = {g: {"hosts": hosts} for g, hosts in groups.items()}
    result["all"] = {"vars": all_vars}
    result["_meta"] = {"hostvars": hostvars}
    return result


def vaults_not_aws(inventory_dir: Path) -> list[str]:
    """Files under the inventory's group_vars/host_vars holding a vault not labelled aws."""
    bad = []
    for sub in ("group_vars", "host_vars"):
        for dirpath, _dirs, files in os.walk(inventory_dir / sub, followlinks=True):
            for name in sorted(files):
                path = Path(dirpath) / name
                try:
                    lines = path.read_text().splitlines()
                except (OSError, UnicodeDecodeError):
                    continue
                for line in lines:
                    fields = line.strip().split(";")
                    if fields[0] == "$ANSIBLE_VAULT":
                        label = fields[3] if len(fields) > 3 else ""
                        if label != AWS_VAULT_ID:
                            bad.append(f"{path}: vault id {label or '(none)'}")
                            break
    return bad


def main() -> int:
    inventory_dir = Path(os.path.abspath(sys.argv[0])).parent
    stage = inventory_dir.name.removeprefix("aws-")
    if "--host" in sys.argv:
        print("{}")
        return 0
    bad = vaults_not_aws(inventory_dir)
    if bad:
        print("vault files not labelled 'aws' (re-encrypt them with --vault-id "
              "aws@ansible/vault-password-client.sh --encrypt-vault-id aws):\n  " + "\n  ".join(bad),
              file=sys.stderr)
        return 1
    path = outputs_path(stage)
    if not path.exists():
        print(f"{path}: missing; run `mkdir -p {path.parent} && "
              f"pulumi stack output --json --stack {stage} > {path}`", file=sys.stderr)
        return 1
    try:
        print(json.dumps(inventory(stage, json.loads(path.read_text())), indent=1))
    except (OutputsError, json.JSONDecodeError) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
