"""Shoplab's security rules as CrossGuard policies: the catalogue (name, enforcement, contract).

The rules are plain functions in the rules_*.py modules next to this file. Each reads the
resource's properties by their wire (camelCase) names, which is also what the unit tests'
mocks record, so the same rule can be run on a real preview and on every resource of every
stage offline. Self-contained on purpose: a policy pack is installed and run on its own (only
pulumi-policy is needed).

Advisory rules are the ones today's stacks do not meet yet (pulumi/README.md, "Policy pack",
says which and why; tests/pulumi/test_pulumi_policies.py pins where each one fails). The
levels can be raised per run with `--policy-pack-config`."""
from __future__ import annotations

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy,
                           StackValidationPolicy)

import rules_compute as compute
import rules_data as data
import rules_edge as edge
import rules_network as network
import rules_tags as tags

MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY

LAB_TEARDOWN = PolicyConfigSchema(properties={"labTeardown": {
    "type": "boolean", "default": False,
    "description": "the stack is a throwaway lab (its shoplab:labTeardown is true): its "
                   "database may go without deletion protection and final snapshot"}})


def _resource(name, level, description, validate, config_schema=None):
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=level, config_schema=config_schema)


def _stack(name, level, description, validate):
    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=level)


OPEN = ("open to the internet = the rule's CIDRs together admit a /8's worth of public IPv4 "
        "(outside RFC 1918, CGNAT, loopback, link-local, multicast) or a /32's worth of global "
        "IPv6: 0.0.0.0/0, ::/0, 0.0.0.0/1 + 128.0.0.0/1 all are")

POLICIES = [
    # --- security groups and public addresses (rules_network) ------------------------------
    _resource("no-admin-ports-from-internet", MANDATORY,
              f"SSH, PostgreSQL, Redis and the Kubernetes API are never open to the internet "
              f"({OPEN})", network.no_admin_ports_from_internet),
    _resource("internet-ingress-only-http-https", MANDATORY,
              f"an ingress rule open to the internet admits only tcp 80 or tcp 443, each as a "
              f"single port ({OPEN})", network.internet_ingress_only_http_https),
    _stack("internet-ingress-only-on-load-balancer", ADVISORY,
           f"only a load balancer's security group is open to the internet ({OPEN}); with the "
           "rule above, only on 80/443", network.internet_ingress_only_on_load_balancer),
    _stack("ec2-no-public-ip-behind-load-balancer", ADVISORY,
           "in a stack with an internet-facing load balancer no EC2 instance has a public "
           "address (associatePublicIpAddress, the subnet's mapPublicIpOnLaunch, an Elastic IP); "
           "without one the host is the entry point and may",
           network.ec2_no_public_ip_behind_load_balancer),
    _resource("ecs-tasks-no-public-ip", ADVISORY,
              "ECS services, task sets and scheduled tasks (EventBridge, Scheduler) do not "
              "assign public IPs", network.ecs_tasks_no_public_ip),
    # --- the load balancer's edge (rules_edge) ---------------------------------------------
    _resource("alb-http-redirects-to-https", MANDATORY,
              "an HTTP listener (protocol HTTP or unset) has exactly one default action: a "
              "redirect to HTTPS on port 443", edge.alb_http_redirects_to_https),
    _resource("alb-https-tls-policy", MANDATORY,
              "an HTTPS listener has an ACM certificate and a TLS 1.2+ forward-secret policy "
              "(ELBSecurityPolicy-TLS13-1-2/1-3 or FS-1-2 families)", edge.alb_https_tls_policy),
    _resource("alb-https-hsts", MANDATORY,
              "an HTTPS listener sends Strict-Transport-Security with a max-age of at least a "
              "year", edge.alb_https_hsts),
    _stack("alb-serves-https", MANDATORY,
           "every internet-facing application load balancer has an HTTPS listener",
           edge.alb_serves_https),
    _resource("health-check-cheap-and-slow", MANDATORY,
              "target groups probe /healthz or /readyz no more often than every 15 s",
              edge.health_check_cheap_and_slow),
    # --- data tier (rules_data) ------------------------------------------------------------
    _resource("rds-private-and-encrypted", MANDATORY,
              "RDS is not public and its storage is encrypted", data.rds_private_and_encrypted),
    _resource("rds-backed-up", MANDATORY,
              f"RDS keeps automated backups for at least {data.MIN_BACKUP_DAYS} days "
              "(backupRetentionPeriod set explicitly)", data.rds_backed_up),
    _resource("rds-deletion-protected", MANDATORY,
              "RDS has deletion protection and takes a named final snapshot, unless this "
              "policy's config has labTeardown: true", data.rds_deletion_protected,
              config_schema=LAB_TEARDOWN),
    _resource("rds-managed-master-password", ADVISORY,
              "RDS keeps its master password in Secrets Manager (manageMasterUserPassword), "
              "not set by the program", data.rds_managed_master_password),
    _resource("cache-encrypted-at-rest", MANDATORY, "ElastiCache Redis is encrypted at rest",
              data.cache_encrypted_at_rest),
    _resource("cache-encrypted-in-transit", MANDATORY,
              "ElastiCache Redis requires TLS (transitEncryptionEnabled, mode not 'preferred')",
              data.cache_encrypted_in_transit),
    _resource("cache-auth-required", MANDATORY,
              "ElastiCache Redis requires AUTH: an authToken or RBAC userGroupIds",
              data.cache_auth_required),
    # --- compute (rules_compute) -----------------------------------------------------------
    _resource("ec2-imdsv2-encrypted-root", MANDATORY,
              "EC2 requires IMDSv2 and encrypts its root volume",
              compute.ec2_imdsv2_and_encrypted_root),
    _resource("ebs-volumes-encrypted", MANDATORY,
              "EBS volumes and an instance's extra EBS block devices are encrypted",
              compute.ebs_volumes_encrypted),
    _resource("no-secrets-in-task-environment", MANDATORY,
              "ECS task definitions take secrets from Secrets Manager, not plain environment",
              compute.no_secrets_in_task_environment),
    _resource("ecs-task-not-privileged", MANDATORY,
              "no ECS container is privileged, runs as root (user 0/root) or adds Linux "
              "capabilities", compute.ecs_task_not_privileged),
    _resource("ecs-read-only-root", MANDATORY,
              "every ECS container has readonlyRootFilesystem: true",
              compute.ecs_read_only_root),
    _resource("ecr-scan-on-push-immutable-tags", MANDATORY,
              "ECR repositories scan images on push and have immutable tags",
              compute.ecr_scan_on_push_immutable_tags),
    # --- billing (rules_tags) --------------------------------------------------------------
    _resource("required-tags", MANDATORY,
              "cost-bearing resources carry Project, Stage and ManagedBy", tags.required_tags),
]
