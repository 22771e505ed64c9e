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
               source_group_ids: list, description: str, outbound: bool = True,
               opts: pulumi.ResourceOptions | None = None) -> aws.ec2.SecurityGroup:
    """A tier's group, open on `port` only to the groups of the tier in front.

    The data tier has no outbound rule at all (it only answers). Stage 3 makes its tasks'
    group with this outside ContainerService: the data tier must name it first."""
    return aws.ec2.SecurityGroup(
        name, description=f"shoplab {stage} {description}", vpc_id=vpc_id,
        ingress=[from_group(port, group, f"{description} from the tier in front")
                 for group in source_group_ids],
        egress=ALL_EGRESS if outbound else [], tags=tags(stage, name), opts=opts)
