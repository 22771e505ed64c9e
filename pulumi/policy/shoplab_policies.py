"""Shoplab's security rules as CrossGuard resource policies.

Each rule reads the resource's properties by their wire (camelCase) names, which is also
what the unit tests' mocks record, so the same rule can be run on a real preview and on
every resource of every stage offline. Self-contained on purpose: a policy pack is installed
and run on its own (only pulumi-policy is needed)."""
from __future__ import annotations

import ipaddress
import json
import re

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# Ports that are never for the whole internet: SSH, PostgreSQL, Redis, the Kubernetes API.
ADMIN_PORTS = {22: "ssh", 5432: "postgres", 6379: "redis", 6443: "kubernetes api"}
REQUIRED_TAGS = ("Project", "Stage", "ManagedBy")
# The resources that carry the cost and the data: they must be tagged for the bill.
TAGGED_TYPES = {
    "aws:ec2/instance:Instance", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", SG,
    "aws:ec2/eip:Eip", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup",
    "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:ecs/cluster:Cluster", "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecr/repository:Repository", "aws:cloudwatch/logGroup:LogGroup",
    "aws:secretsmanager/secret:Secret",
}
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE", re.I)
_CREDENTIAL_URL = re.compile(r"://[^/@:\s]+:[^/@\s]+@")


def _open_to_all(cidrs) -> bool:
    for cidr in cidrs or []:
        try:
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def _ingress_rules(resource_type: str, props: dict) -> list[dict]:
    """Every ingress rule of a resource, as {fromPort, toPort, protocol, cidrs}."""
    if resource_type == SG:
        return [{"fromPort": r.get("fromPort"), "toPort": r.get("toPort"),
                 "protocol": r.get("protocol"),
                 "cidrs": (r.get("cidrBlocks") or []) + (r.get("ipv6CidrBlocks") or [])}
                for r in props.get("ingress") or []]
    if resource_type == SG_RULE and props.get("type") == "ingress":
        return [{"fromPort": props.get("fromPort"), "toPort": props.get("toPort"),
                 "protocol": props.get("protocol"),
                 "cidrs": (props.get("cidrBlocks") or []) + (props.get("ipv6CidrBlocks") or [])}]
    if resource_type == SG_INGRESS:
        return [{"fromPort": props.get("fromPort"), "toPort": props.get("toPort"),
                 "protocol": props.get("ipProtocol"),
                 "cidrs": [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]}]
    return []


def _covers(rule: dict, port: int) -> bool:
    if str(rule.get("protocol")) in ("-1", "all"):
        return True
    low, high = rule.get("fromPort"), rule.get("toPort")
    if low is None or high is None:
        return False
    return int(low) <= port <= int(high)


def no_admin_ports_from_internet(args, report_violation):
    for rule in _ingress_rules(args.resource_type, args.props):
        if not _open_to_all(rule["cidrs"]):
            continue
        for port, what in ADMIN_PORTS.items():
            if _covers(rule, port):
                report_violation(f"{what} ({port}) is open to {rule['cidrs']}: allow it only "
                                 "from admin CIDRs or from the tier in front")


def rds_private_and_encrypted(args, report_violation):
    if args.resource_type != "aws:rds/instance:Instance":
        return
    if args.props.get("publiclyAccessible"):
        report_violation("RDS instance is publicly accessible")
    if not args.props.get("storageEncrypted"):
        report_violation("RDS storage is not encrypted")


def ec2_imdsv2_and_encrypted_root(args, report_violation):
    if args.resource_type != "aws:ec2/instance:Instance":
        return
    if (args.props.get("metadataOptions") or {}).get("httpTokens") != "required":
        report_violation("IMDSv2 not required (metadataOptions.httpTokens must be 'required')")
    if not (args.props.get("rootBlockDevice") or {}).get("encrypted"):
        report_violation("root volume not encrypted")


def cache_encrypted_at_rest(args, report_violation):
    if args.resource_type != "aws:elasticache/replicationGroup:ReplicationGroup":
        return
    if not args.props.get("atRestEncryptionEnabled"):
        report_violation("ElastiCache replication group not encrypted at rest")


def health_check_cheap_and_slow(args, report_violation):
    """Health checks hit /healthz or /readyz no more often than every 15 s: the reference's
    5 s probes of a DB-backed path took a fifth of its connection pool."""
    if args.resource_type != "aws:lb/targetGroup:TargetGroup":
        return
    check = args.props.get("healthCheck") or {}
    if check.get("path") not in ("/healthz", "/readyz"):
        report_violation(f"health check path {check.get('path')!r}: use /healthz or /readyz")
    if float(check.get("interval") or 30) < 15:
        report_violation(f"health check every {check.get('interval')} s: at least 15 s")


def required_tags(args, report_violation):
    if args.resource_type not in TAGGED_TYPES:
        return
    tags = args.props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    if missing:
        report_violation(f"missing tags: {', '.join(missing)}")


def no_secrets_in_task_environment(args, report_violation):
    if args.resource_type != "aws:ecs/taskDefinition:TaskDefinition":
        return
    raw = args.props.get("containerDefinitions") or "[]"
    try:
        containers = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return          # not known yet at preview: checked again at update
    for container in containers:
        for var in container.get("environment") or []:
            name, value = var.get("name", ""), str(var.get("value", ""))
            if _SECRET_NAME.search(name) or _CREDENTIAL_URL.search(value):
                report_violation(f"{container.get('name')}: {name} is a secret in plain "
                                 "environment; use the container's `secrets` (Secrets Manager)")


def _policy(name: str, description: str, validate) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY)


POLICIES = [
    _policy("no-admin-ports-from-internet",
            "SSH, PostgreSQL, Redis and the Kubernetes API are never open to 0.0.0.0/0 or ::/0",
            no_admin_ports_from_internet),
    _policy("rds-private-and-encrypted", "RDS is not public and its storage is encrypted",
            rds_private_and_encrypted),
    _policy("ec2-imdsv2-encrypted-root", "EC2 requires IMDSv2 and encrypts its root volume",
            ec2_imdsv2_and_encrypted_root),
    _policy("cache-encrypted-at-rest", "ElastiCache Redis is encrypted at rest",
            cache_encrypted_at_rest),
    _policy("health-check-cheap-and-slow",
            "target groups probe /healthz or /readyz no more often than every 15 s",
            health_check_cheap_and_slow),
    _policy("required-tags", "cost-bearing resources carry Project, Stage and ManagedBy",
            required_tags),
    _policy("no-secrets-in-task-environment",
            "ECS task definitions take secrets from Secrets Manager, not plain environment",
            no_secrets_in_task_environment),
]
