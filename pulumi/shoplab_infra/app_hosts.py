"""AppHosts: N identical EC2 hosts for the shop (stage 1: one with an Elastic IP; stage 2: two
behind the load balancer), their security group, key pair and target-group registrations."""
from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from shoplab_infra import firewall
from shoplab_infra.hosts import HostSpec, instance
from shoplab_infra.retention import Retention
from shoplab_infra.tagging import tags


@dataclass
class AppHostsArgs:
    stage: str
    host: HostSpec
    count: int
    subnet_ids: list                   # hosts are spread over these, round robin
    vpc_id: pulumi.Input[str] | None = None   # None: the default VPC (stage 1)
    # without subnets (the default VPC): the zone the hosts are placed in
    availability_zone: pulumi.Input[str] | None = None
    admin_cidrs: list[str] = field(default_factory=list)
    ssh_port: int = 22
    # what the hosts serve, and to whom: (port, cidrs, why) and the app port from a group
    open_ports: list[tuple[int, list[str], str]] = field(default_factory=list)
    app_port: int | None = None
    app_source_group_id: pulumi.Input[str] | None = None
    elastic_ip: bool = False
    target_group_arn: pulumi.Input[str] | None = None
    # set when the hosts themselves hold state (k3s): protected by the policy, and they keep
    # the image they were launched from (hosts.instance keeps_image)
    retention: Retention | None = None


class AppHosts(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppHostsArgs, opts: pulumi.ResourceOptions | None = None,
                 role: str = "app"):
        super().__init__("shoplab:aws:AppHosts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.count < 1:
            raise ValueError(f"{name}: count must be at least 1, got {args.count}")
        ingress = [firewall.from_cidrs(args.ssh_port, args.admin_cidrs, "ssh from admins")]
        ingress += [firewall.from_cidrs(port, cidrs, why) for port, cidrs, why in args.open_ports]
        if args.app_port is not None:
            ingress.append(firewall.from_group(args.app_port, args.app_source_group_id,
                                               "app from the load balancer"))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", description=f"shoplab {args.stage} {role} hosts",
            vpc_id=args.vpc_id, ingress=ingress, egress=firewall.ALL_EGRESS,
            tags=tags(args.stage, f"{name}-sg"), opts=child)
        self.key_pair = aws.ec2.KeyPair(f"{name}-key", public_key=args.host.ssh_public_key,
                                        tags=tags(args.stage, f"{name}-key"), opts=child)
        host_opts = args.retention.keep(child) if args.retention else child
        self.instances = []
        for i in range(args.count):
            host_name = f"{name}-{i + 1}"
            self.instances.append(instance(
                host_name, spec=args.host, hostname=f"shoplab-{args.stage}-{host_name}",
                subnet_id=args.subnet_ids[i % len(args.subnet_ids)],
                availability_zone=args.availability_zone,
                security_group_ids=[self.security_group.id], key_name=self.key_pair.key_name,
                public_ip=True, tags=tags(args.stage, host_name, Role=role), opts=host_opts,
                keeps_image=args.retention is not None))
        if args.elastic_ip:
            # a stable address for DNS and the inventory across stop/start
            self.elastic_ips = [aws.ec2.Eip(f"{name}-{i + 1}-eip", domain="vpc",
                                            instance=host.id,
                                            tags=tags(args.stage, f"{name}-{i + 1}-eip"),
                                            opts=child)
                                for i, host in enumerate(self.instances)]
            self.public_ips = [eip.public_ip for eip in self.elastic_ips]
        else:
            self.public_ips = [host.public_ip for host in self.instances]
        self.private_ips = [host.private_ip for host in self.instances]
        if args.target_group_arn is not None:
            for i, host in enumerate(self.instances):
                aws.lb.TargetGroupAttachment(f"{name}-{i + 1}-target",
                                             target_group_arn=args.target_group_arn,
                                             target_id=host.id, port=args.app_port, opts=child)
        self.register_outputs({"public_ips": self.public_ips, "private_ips": self.private_ips,
                               "security_group_id": self.security_group.id})
