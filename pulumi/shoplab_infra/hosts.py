"""What every EC2 host of Shoplab has in common: Debian 12, IMDSv2 only, an encrypted root
volume, and cloud-init user data that leaves it ready for Ansible (python3, an admin key)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class HostSpec:
    """The per-host settings shared by AppHosts and K3sHost (all from stack config)."""
    instance_type: str
    root_volume_gb: int
    ssh_public_key: str
    ami_id: str = ""
    ami_owner: str = "136693071363"
    ami_name_filter: str = "debian-12-amd64-*"


def ami_id(spec: HostSpec, opts: pulumi.InvokeOptions | None = None) -> pulumi.Input[str]:
    if spec.ami_id:
        return spec.ami_id
    return aws.ec2.get_ami_output(
        most_recent=True, owners=[spec.ami_owner],
        filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[spec.ami_name_filter]),
                 aws.ec2.GetAmiFilterArgs(name="architecture", values=["x86_64"])],
        opts=opts).id


def user_data(hostname: str, ssh_public_key: str) -> str:
    """cloud-config: the `ansible` user with the operator's key and python3 for its modules.

    Nothing else is installed here: software and configuration are Ansible's job, so the
    same roles configure the lab's containers and these hosts."""
    return "\n".join([
        "#cloud-config",
        f"hostname: {hostname}",
        "package_update: true",
        "packages: [python3, python3-apt, sudo]",
        "users:",
        "  - default",
        "  - name: ansible",
        "    shell: /bin/bash",
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    ssh_authorized_keys:",
        f"      - {ssh_public_key}",
        "",
    ])


def instance(name: str, *, spec: HostSpec, hostname: str, subnet_id: pulumi.Input[str],
             security_group_ids: list, key_name: pulumi.Input[str], public_ip: bool,
             tags: dict, opts: pulumi.ResourceOptions) -> aws.ec2.Instance:
    return aws.ec2.Instance(
        name,
        ami=ami_id(spec, pulumi.InvokeOptions(parent=opts.parent)),
        instance_type=spec.instance_type,
        subnet_id=subnet_id,
        vpc_security_group_ids=security_group_ids,
        associate_public_ip_address=public_ip,
        key_name=key_name,
        user_data=user_data(hostname, spec.ssh_public_key),
        # IMDSv2 only, one hop: a container on the host cannot reach the instance role
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
            volume_size=spec.root_volume_gb, volume_type="gp3", encrypted=True,
            delete_on_termination=True, tags=tags),
        monitoring=False,
        tags=tags,
        opts=opts)
