"""K3sHost: the one EC2 host stage 4 runs k3s on (installed by the Ansible k3s role).

The web reaches the shop only through the Istio ingress gateway on 80/443 (the shop's Service
is ClusterIP); the Kubernetes API and SSH are open only to the allowed CIDRs (the reference
had its NodePort, the API and SSH open to the world).

The host is stateful: k3s keeps the cluster's state on its root volume, so the host is
protected (retention.py) and keeps the image it was launched from when ``amiId`` changes;
rolling it is an explicit replace (pulumi/README.md, "Rolling hosts on purpose")."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi

from shoplab_infra.app_hosts import AppHosts, AppHostsArgs
from shoplab_infra.hosts import HostSpec
from shoplab_infra.retention import Retention


@dataclass
class K3sHostArgs:
    stage: str
    host: HostSpec
    vpc_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    admin_cidrs: list[str]
    web_cidrs: list[str]
    ssh_port: int
    http_port: int
    https_port: int
    api_port: int
    retention: Retention       # the host's root volume holds the cluster's state


class K3sHost(pulumi.ComponentResource):
    def __init__(self, name: str, args: K3sHostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:K3sHost", name, None, opts)
        hosts = AppHosts(name, AppHostsArgs(
            stage=args.stage, host=args.host, count=1, subnet_ids=[args.subnet_id],
            vpc_id=args.vpc_id, admin_cidrs=args.admin_cidrs, ssh_port=args.ssh_port,
            open_ports=[(args.http_port, args.web_cidrs, "istio ingress http"),
                        (args.https_port, args.web_cidrs, "istio ingress https"),
                        (args.api_port, args.admin_cidrs, "kubernetes api from admins")],
            elastic_ip=True, retention=args.retention),
            opts=pulumi.ResourceOptions(parent=self), role="k3s")
        self.security_group_id = hosts.security_group.id
        self.public_ip = hosts.public_ips[0]
        self.private_ip = hosts.private_ips[0]
        self.register_outputs({"public_ip": self.public_ip, "private_ip": self.private_ip,
                               "security_group_id": self.security_group_id})
