"""The policy pack's rules: a violating and a compliant resource each, then every resource
recorded from every stage's program must pass them all."""
import json

import pytest
from pulumi_policy import PolicyResourceOptions, ResourceValidationArgs

from stack_harness import STAGES
from shoplab_policies import POLICIES

BY_NAME = {p.name: p for p in POLICIES}
TAGS = {"Project": "shoplab", "Stage": "stage2", "ManagedBy": "pulumi"}


def violations(policy_name: str, typ: str, props: dict) -> list[str]:
    found = []
    opts = PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=None, additional_secret_outputs=[])
    args = ResourceValidationArgs(typ, props, f"urn:pulumi:t::shoplab::{typ}::x", "x", opts, None)
    BY_NAME[policy_name].validate(args, lambda message, urn=None: found.append(message))
    return found


def _sg(port, cidrs, to_port=None, protocol="tcp"):
    return {"ingress": [{"fromPort": port, "toPort": to_port or port, "protocol": protocol,
                         "cidrBlocks": cidrs}], "tags": TAGS}


def _container_defs(env):
    return json.dumps([{"name": "shop", "environment": [{"name": k, "value": v}
                                                         for k, v in env.items()]}])


CASES = [
    # rule, type, violating props, compliant props
    ("no-admin-ports-from-internet", "aws:ec2/securityGroup:SecurityGroup",
     _sg(22, ["0.0.0.0/0"]), _sg(22, ["198.51.100.7/32"])),
    ("no-admin-ports-from-internet", "aws:ec2/securityGroup:SecurityGroup",
     _sg(5000, ["0.0.0.0/0"], to_port=6500), _sg(80, ["0.0.0.0/0"])),
    ("no-admin-ports-from-internet", "aws:ec2/securityGroup:SecurityGroup",
     _sg(0, ["::/0"], to_port=0, protocol="-1"), _sg(443, ["::/0"])),
    ("no-admin-ports-from-internet", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     {"fromPort": 6443, "toPort": 6443, "ipProtocol": "tcp", "cidrIpv4": "0.0.0.0/0"},
     {"fromPort": 6443, "toPort": 6443, "ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/8"}),
    ("no-admin-ports-from-internet", "aws:ec2/securityGroupRule:SecurityGroupRule",
     {"type": "ingress", "fromPort": 6379, "toPort": 6379, "protocol": "tcp",
      "cidrBlocks": ["0.0.0.0/0"]},
     {"type": "egress", "fromPort": 6379, "toPort": 6379, "protocol": "tcp",
      "cidrBlocks": ["0.0.0.0/0"]}),
    ("rds-private-and-encrypted", "aws:rds/instance:Instance",
     {"publiclyAccessible": True, "storageEncrypted": True},
     {"publiclyAccessible": False, "storageEncrypted": True}),
    ("rds-private-and-encrypted", "aws:rds/instance:Instance",
     {"publiclyAccessible": False}, {"publiclyAccessible": False, "storageEncrypted": True}),
    ("ec2-imdsv2-encrypted-root", "aws:ec2/instance:Instance",
     {"metadataOptions": {"httpTokens": "optional"}, "rootBlockDevice": {"encrypted": True}},
     {"metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}}),
    ("ec2-imdsv2-encrypted-root", "aws:ec2/instance:Instance",
     {"metadataOptions": {"httpTokens": "required"}},
     {"metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}}),
    ("cache-encrypted-at-rest", "aws:elasticache/replicationGroup:ReplicationGroup",
     {"atRestEncryptionEnabled": False}, {"atRestEncryptionEnabled": True}),
    ("health-check-cheap-and-slow", "aws:lb/targetGroup:TargetGroup",
     {"healthCheck": {"path": "/healthz", "interval": 5}},
     {"healthCheck": {"path": "/healthz", "interval": 30}}),
    ("health-check-cheap-and-slow", "aws:lb/targetGroup:TargetGroup",
     {"healthCheck": {"path": "/api/products", "interval": 30}},
     {"healthCheck": {"path": "/readyz", "interval": 15}}),
    ("required-tags", "aws:ec2/vpc:Vpc", {"tags": {"Project": "shoplab"}}, {"tags": TAGS}),
    ("required-tags", "aws:rds/instance:Instance", {}, {"tags": TAGS}),
    ("no-secrets-in-task-environment", "aws:ecs/taskDefinition:TaskDefinition",
     {"containerDefinitions": _container_defs({"JWT_SECRET": "x"})},
     {"containerDefinitions": _container_defs({"LOG_LEVEL": "INFO"})}),
    ("no-secrets-in-task-environment", "aws:ecs/taskDefinition:TaskDefinition",
     {"containerDefinitions": _container_defs({"DB": "postgresql://shop:pw@db:5432/shop"})},
     {"containerDefinitions": _container_defs({"DB_HOST": "db.internal"})}),
]


@pytest.mark.parametrize("rule,typ,bad,good", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_flags_the_violation_and_passes_the_fix(rule, typ, bad, good):
    assert violations(rule, typ, bad)
    assert violations(rule, typ, good) == []


def test_every_rule_has_cases():
    assert {c[0] for c in CASES} == set(BY_NAME)


def test_rules_ignore_other_resource_types():
    for name in BY_NAME:
        assert violations(name, "aws:s3/bucket:Bucket", {"publiclyAccessible": True}) == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_recorded_resource_passes_every_rule(stacks, stage):
    checked = 0
    for r in stacks[stage].mocks.custom():
        for name in BY_NAME:
            assert violations(name, r.typ, dict(r.inputs)) == [], (stage, r.name, name)
        checked += 1
    assert checked > 3


def test_pack_entry_point_lists_the_rules():
    from pathlib import Path
    main = (Path(__file__).resolve().parents[2] / "pulumi" / "policy" / "__main__.py").read_text()
    assert "PolicyPack(" in main and "policies=POLICIES" in main
