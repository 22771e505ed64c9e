"""Network: a VPC with one public and one private subnet per availability zone.

Public subnets (internet gateway route) hold the load balancer, app hosts, Fargate tasks
and the k3s host; private subnets (no route out) hold the database and the cache. There is
no NAT gateway: nothing in the private subnets needs the internet, and it would cost more
than the hosts (see cost_model)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shoplab_infra.tagging import tags


@dataclass
class NetworkArgs:
    stage: str
    cidr: str
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if len(args.public_subnet_cidrs) != len(args.private_subnet_cidrs):
            raise ValueError("publicSubnetCidrs and privateSubnetCidrs need one entry per AZ each")
        if len(args.public_subnet_cidrs) < 2:
            raise ValueError("an ALB and an RDS subnet group need subnets in at least 2 AZs")
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOptions(parent=self)).names
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True,
                               enable_dns_support=True, tags=tags(args.stage, "vpc"), opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id,
                                          tags=tags(args.stage, "igw"), opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=tags(args.stage, "public-rt"), opts=child)
        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=self.vpc.id,
                                        tags=tags(args.stage, "private-rt"), opts=child)
        self.public_subnets, self.private_subnets = [], []
        for tier, cidrs, table, out in (("public", args.public_subnet_cidrs, public_rt,
                                         self.public_subnets),
                                        ("private", args.private_subnet_cidrs, private_rt,
                                         self.private_subnets)):
            for i, cidr in enumerate(cidrs):
                subnet = aws.ec2.Subnet(
                    f"{name}-{tier}-{i + 1}", vpc_id=self.vpc.id, cidr_block=cidr,
                    availability_zone=zones[i], map_public_ip_on_launch=False,
                    tags=tags(args.stage, f"{tier}-{i + 1}", Tier=tier), opts=child)
                aws.ec2.RouteTableAssociation(f"{name}-{tier}-{i + 1}-rta", subnet_id=subnet.id,
                                              route_table_id=table.id, opts=child)
                out.append(subnet)
        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.register_outputs({"vpc_id": self.vpc_id,
                               "public_subnet_ids": self.public_subnet_ids,
                               "private_subnet_ids": self.private_subnet_ids})
