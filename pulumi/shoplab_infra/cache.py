"""Cache: ElastiCache Redis in the private subnets, reachable only from the app tier,
encrypted at rest, and by default in transit with AUTH: a generated token (pulumi_random,
a Pulumi secret) that the URL carries, ``rediss://:<token>@<address>:<port>/0``. ElastiCache
takes a token only with in-transit encryption, so ``cacheTransitEncryption: false`` means
neither (``redis://``, the policy pack's ``cache-auth-required`` fails). The replication group
is protected by the retention policy (retention.py)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from shoplab_infra import firewall
from shoplab_infra.retention import Retention
from shoplab_infra.tagging import tags


@dataclass
class CacheArgs:
    stage: str
    vpc_id: pulumi.Input[str]
    subnet_ids: list
    client_group_ids: list
    node_type: str
    engine_version: str
    parameter_group: str
    port: int
    nodes: int
    transit_encryption: bool
    retention: Retention


class Cache(pulumi.ComponentResource):
    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.auth_token = None
        if args.transit_encryption:
            # 16-128 printable characters without @ " / (ElastiCache); none special at all,
            # so the token goes into the URL as is
            self.auth_token = pulumi.Output.secret(random.RandomPassword(
                f"{name}-auth-token", length=64, special=False, opts=child).result)
        self.security_group = firewall.tier_group(
            f"{name}-sg", stage=args.stage, vpc_id=args.vpc_id, port=args.port,
            source_group_ids=args.client_group_ids, description="redis", outbound=False,
            opts=child)
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids,
                                              tags=tags(args.stage, f"{name}-subnets"),
                                              opts=child)
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis", description=f"shoplab {args.stage} carts and rate limits",
            engine="redis", engine_version=args.engine_version, node_type=args.node_type,
            num_cache_clusters=args.nodes, port=args.port,
            parameter_group_name=args.parameter_group,
            automatic_failover_enabled=args.nodes > 1, multi_az_enabled=args.nodes > 1,
            at_rest_encryption_enabled=True, transit_encryption_enabled=args.transit_encryption,
            auth_token=self.auth_token,
            subnet_group_name=subnets.name, security_group_ids=[self.security_group.id],
            # carts live 7 days; losing them on a failure is acceptable for the lab
            snapshot_retention_limit=0,
            tags=tags(args.stage, f"{name}-redis"), opts=args.retention.keep(child))
        self.address = self.replication_group.primary_endpoint_address
        self.port = args.port
        if self.auth_token is None:
            self.url = pulumi.Output.format("redis://{0}:{1}/0", self.address, args.port)
        else:
            self.url = pulumi.Output.secret(pulumi.Output.format(
                "rediss://:{0}@{1}:{2}/0", self.auth_token, self.address, args.port))
        self.register_outputs({"address": self.address, "url": self.url,
                               "security_group_id": self.security_group.id})
