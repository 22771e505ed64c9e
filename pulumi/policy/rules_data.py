"""The data tier: RDS PostgreSQL and ElastiCache Redis."""
from __future__ import annotations

from resource_reading import items, truthy

RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
MIN_BACKUP_DAYS = 3         # covers a weekend


def rds_private_and_encrypted(args, report_violation):
    if args.resource_type != RDS:
        return
    if args.props.get("publiclyAccessible"):
        report_violation("RDS instance is publicly accessible")
    if not args.props.get("storageEncrypted"):
        report_violation("RDS storage is not encrypted")


def rds_backed_up(args, report_violation):
    if args.resource_type != RDS:
        return
    days = args.props.get("backupRetentionPeriod")
    if days is None or float(days) < MIN_BACKUP_DAYS:
        report_violation(f"backupRetentionPeriod is {days!r}: set it to at least "
                         f"{MIN_BACKUP_DAYS} days (0 turns automated backups off)")


def rds_deletion_protected(args, report_violation):
    """Strict unless the policy's config says the stack is a throwaway lab
    (`labTeardown: true`, the pack-side twin of the stack's `shoplab:labTeardown`)."""
    if args.resource_type != RDS or truthy(args.get_config().get("labTeardown", False)):
        return
    if not truthy(args.props.get("deletionProtection")):
        report_violation("deletionProtection is off: turn it on (or set this policy's "
                         "labTeardown for a throwaway lab stack)")
    if truthy(args.props.get("skipFinalSnapshot")):
        report_violation("skipFinalSnapshot is true: a deleted database must leave a snapshot")
    elif not args.props.get("finalSnapshotIdentifier"):
        report_violation("no finalSnapshotIdentifier: the final snapshot needs a name, or the "
                         "delete fails")


def rds_managed_master_password(args, report_violation):
    if args.resource_type != RDS or args.props.get("replicateSourceDb"):
        return      # a replica has no master password of its own
    if args.props.get("password") or args.props.get("passwordWo"):
        report_violation("the master password is set by the program, so it sits in the Pulumi "
                         "state: let RDS keep it in Secrets Manager (manageMasterUserPassword)")
    elif not truthy(args.props.get("manageMasterUserPassword")):
        report_violation("manageMasterUserPassword is not set")


def cache_encrypted_at_rest(args, report_violation):
    if args.resource_type != REDIS:
        return
    if not args.props.get("atRestEncryptionEnabled"):
        report_violation("ElastiCache replication group not encrypted at rest")


def cache_encrypted_in_transit(args, report_violation):
    if args.resource_type != REDIS:
        return
    if not truthy(args.props.get("transitEncryptionEnabled")):
        report_violation("transitEncryptionEnabled is off: Redis traffic (carts, sessions, the "
                         "AUTH token) would cross the VPC in plain text")
    elif str(args.props.get("transitEncryptionMode") or "required").lower() != "required":
        report_violation(f"transitEncryptionMode is {args.props.get('transitEncryptionMode')!r}:"
                         " 'preferred' still accepts plain-text clients; use 'required'")


def cache_auth_required(args, report_violation):
    if args.resource_type != REDIS:
        return
    if not args.props.get("authToken") and not items(args.props.get("userGroupIds")):
        report_violation("Redis accepts any client that reaches it: set an authToken (AUTH) or "
                         "userGroupIds (RBAC users)")
