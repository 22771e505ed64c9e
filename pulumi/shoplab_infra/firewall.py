"""Security-group rule builders: every ingress names its source (CIDRs or a security group)."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from shoplab_infra.tagging import tags


def from_cidrs(port: int, cidrs: list[str], description: str,
               to_port: int | None = None) -> aws.ec2.SecurityGroupIngressArgs:
    return aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=port,
                                            to_port=to_port or port,
                                            cidr_blocks=list(cidrs), description=description)


def from_group(port: int, group_id: pulumi.Input[str],
               description: str) -> aws.ec2.SecurityGroupIngressArgs:
    return aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=port, to_port=port,
                                            security_groups=[group_id], description=description)


# Outbound stays open: hosts fetch packages and tasks reach ECR/Secrets Manager over HTTPS.
ALL_EGRESS = [aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0,
                                              cidr_blocks=["0.0.0.0/0"],
                                              description="outbound")]


def tier_group(name: str, *, stage: str, vpc_id: pulumi.Input[str], port: int,
               source_group_id: pulumi.Input[str], description: str,
               opts: pulumi.ResourceOptions | None = None) -> aws.ec2.SecurityGroup:
    """A tier's group, open on `port` only to the tier in front (`source_group_id`).

    Made outside the component that uses it when the tiers behind must name it first
    (stage 3: the data tier admits the tasks' group before the service exists)."""
    return aws.ec2.SecurityGroup(
        name, description=f"shoplab {stage} {description}", vpc_id=vpc_id,
        ingress=[from_group(port, source_group_id, "app from the load balancer")],
        egress=ALL_EGRESS, tags=tags(stage, name), opts=opts)
