"""Database: RDS PostgreSQL in the private subnets, encrypted, reachable only from the
security groups of the tier in front, with a parameter group carrying the connection
settings the app's pool is sized against. What survives its deletion (protect, deletion
protection, final snapshot, automated backups) is the retention policy's (retention.py).

Two roles: the master user owns the schema and is used by the migrations only
(``owner_url``); the app connects as its own role (``url``), which the migrator creates with
the generated ``app_password`` and grants rows and nothing more (sql/app_role.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from shoplab_infra import firewall
from shoplab_infra.retention import Retention
from shoplab_infra.tagging import tags


@dataclass
class DatabaseArgs:
    stage: str
    vpc_id: pulumi.Input[str]
    subnet_ids: list
    client_group_ids: list             # security groups allowed on the port
    instance_class: str
    engine_version: str
    parameter_family: str
    allocated_storage_gb: int
    db_name: str
    username: str                      # the master user: owns the schema (migrations)
    app_username: str                  # the app's own role (created by the migrator)
    port: int
    ca_certificate: str                # the CA RDS signs the server's certificate with
    max_connections: int
    statement_timeout_ms: int
    idle_in_transaction_timeout_ms: int
    retention: Retention
    multi_az: bool = False
    password: pulumi.Input[str] | None = None   # None: generated (pulumi_random, secret)
    extra_parameters: dict = field(default_factory=dict)


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.password is None:
            # no URL-special characters: the password goes into DATABASE_URL as is
            generated = random.RandomPassword(f"{name}-password", length=32, special=False,
                                              opts=child)
            password = generated.result
        else:
            password = args.password
        self.password = pulumi.Output.secret(password)
        self.app_password = pulumi.Output.secret(random.RandomPassword(
            f"{name}-app-password", length=32, special=False, opts=child).result)
        self.security_group = firewall.tier_group(
            f"{name}-sg", stage=args.stage, vpc_id=args.vpc_id, port=args.port,
            source_group_ids=args.client_group_ids, description="postgres", outbound=False,
            opts=child)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                      tags=tags(args.stage, f"{name}-subnets"), opts=child)
        parameters = {
            # static: needs a reboot, which RDS applies at the next maintenance/reboot
            "max_connections": (args.max_connections, "pending-reboot"),
            # a runaway query or a forgotten transaction must not hold a pooled connection
            "statement_timeout": (args.statement_timeout_ms, "immediate"),
            "idle_in_transaction_session_timeout": (args.idle_in_transaction_timeout_ms,
                                                    "immediate"),
            # notice dead clients (a killed task) within ~2 minutes, not 2 hours
            "tcp_keepalives_idle": (60, "immediate"),
            "tcp_keepalives_interval": (10, "immediate"),
            "tcp_keepalives_count": (6, "immediate"),
            "log_min_duration_statement": (500, "immediate"),
            # TLS only (RDS PostgreSQL 15's default, stated): no client falls back to plain text
            "rds.force_ssl": (1, "immediate"),
            **args.extra_parameters,
        }
        self.parameter_group = aws.rds.ParameterGroup(
            f"{name}-params", family=args.parameter_family,
            description=f"shoplab {args.stage} connection settings",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=key, value=str(value),
                                                            apply_method=method)
                        for key, (value, method) in parameters.items()],
            tags=tags(args.stage, f"{name}-params"), opts=child)
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres", engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb, storage_type="gp3",
            storage_encrypted=True, publicly_accessible=False,
            db_name=args.db_name, username=args.username, password=self.password,
            port=args.port,
            db_subnet_group_name=subnets.name, vpc_security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name,
            ca_cert_identifier=args.ca_certificate,
            multi_az=args.multi_az,
            # deletion protection, final snapshot, automated backups
            **args.retention.database(name),
            auto_minor_version_upgrade=True, copy_tags_to_snapshot=True,
            tags=tags(args.stage, f"{name}-postgres"), opts=args.retention.keep(child))
        self.address = self.instance.address
        self.port = args.port
        # every CA RDS uses in the region, from AWS's trust store: what a client that verifies
        # the certificate and the name (libpq's verify-full) needs (stage 2's app hosts)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        self.ca_bundle_url = pulumi.Output.format(
            "https://truststore.pki.rds.amazonaws.com/{0}/{0}-bundle.pem", region)

        def url(user: str, password: pulumi.Output) -> pulumi.Output:
            return pulumi.Output.secret(pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", user, password,
                self.instance.address, args.port, args.db_name))
        self.url = url(args.app_username, self.app_password)
        self.owner_url = url(args.username, self.password)
        self.register_outputs({"address": self.address, "url": self.url,
                               "ca_bundle_url": self.ca_bundle_url,
                               "security_group_id": self.security_group.id})
