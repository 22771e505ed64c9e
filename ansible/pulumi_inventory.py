#!/usr/bin/env python3
"""Ansible dynamic inventory for the AWS stages, from a Pulumi stack's outputs.

Not runnable here (no AWS, no Pulumi backend): the outputs come from a file that
`pulumi stack output --json --stack stageN > .state/pulumi/stageN-outputs.json` writes on a
machine that deployed the stack (or $SHOPLAB_PULUMI_OUTPUTS). The stage is the inventory
directory's name (ansible/inventories/aws-stageN/pulumi.py links here).

Outputs read (pulumi/README.md, "Outputs"):
  stage1: host_public_ip, ssh_user
  stage2: app_public_ips, app_private_ips (lists, same order), app_port, vpc_cidr, ssh_user,
          db_address, db_port, redis_url, alb_dns_name, and db_max_connections if the stack
          exports it
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def inventory(stage: str, out: dict) -> dict:
    ssh = {"ansible_user": out.get("ssh_user", "ansible"), "ansible_connection": "ssh"}
    hostvars: dict[str, dict] = {}
    if stage == "stage1":
        hostvars["shop1"] = {**ssh, "ansible_host": out["host_public_ip"],
                             "shop_private_address": "127.0.0.1"}
        groups = {g: ["shop1"] for g in ("lb", "app", "db", "redis")}
    elif stage == "stage2":
        names = []
        for i, (public, private) in enumerate(zip(out["app_public_ips"], out["app_private_ips"]), 1):
            names.append(f"app{i}")
            hostvars[f"app{i}"] = {**ssh, "ansible_host": public, "shop_private_address": private}
        # every app host runs nginx (storefront + proxy to its own gunicorn) on the port the
        # ALB's target group uses; the ALB balances between the hosts
        groups = {"app": names, "lb": names}
    else:
        raise SystemExit(f"no AWS inventory for {stage}")
    meta_all = {k: out[k] for k in ("db_address", "db_port", "db_max_connections", "redis_url",
                                    "alb_dns_name", "app_port", "vpc_cidr") if k in out}
    result = {g: {"hosts": hosts} for g, hosts in groups.items()}
    result["all"] = {"vars": {"pulumi_" + k: v for k, v in meta_all.items()}}
    result["_meta"] = {"hostvars": hostvars}
    return result


def main() -> int:
    stage = Path(sys.argv[0]).parent.name.removeprefix("aws-")
    path = Path(os.environ.get("SHOPLAB_PULUMI_OUTPUTS", ROOT.parent / ".state" / "pulumi" /
                               f"{stage}-outputs.json"))
    if "--host" in sys.argv:
        print("{}")
        return 0
    if not path.exists():
        print(f"{path}: missing; run `pulumi stack output --json --stack {stage} > {path}`",
              file=sys.stderr)
        return 1
    print(json.dumps(inventory(stage, json.loads(path.read_text())), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
