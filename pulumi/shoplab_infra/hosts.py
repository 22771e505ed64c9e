"""What every EC2 host of Shoplab has in common: Debian 12 from a pinned image, IMDSv2 only,
an encrypted root volume, and cloud-init user data that leaves it ready for Ansible (python3,
an admin key). A host is replaced only when its image (or placement) changes on purpose."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

_AMI_ID = re.compile(r"ami-[0-9a-f]{8}([0-9a-f]{9})?")
# Inputs that only matter when an instance is launched: cloud-init runs user data on the first
# boot, and the key pair is installed then. An edit of either (a new sshPublicKey, a changed
# cloud-config) reaches existing hosts through Ansible, not by replacing them.
LAUNCH_ONLY_INPUTS = ["userData", "keyName"]


@dataclass
class HostSpec:
    """The per-host settings shared by AppHosts and K3sHost (all from stack config).

    The image is either pinned (``ami_id``) or, when ``ami_follow_latest``, the newest one
    matching ``ami_owner``/``ami_name_filter``; a spec with neither, or both, is refused before
    anything is created."""
    instance_type: str
    root_volume_gb: int
    ssh_public_key: str
    ami_id: str = ""
    ami_follow_latest: bool = False
    ami_owner: str = "136693071363"
    ami_name_filter: str = "debian-12-amd64-*"

    def __post_init__(self):
        if self.ami_id and self.ami_follow_latest:
            raise ValueError(f"shoplab:amiId {self.ami_id} and shoplab:amiFollowLatest are both "
                             "set: pin the image or follow the latest, not both")
        if not self.ami_id and not self.ami_follow_latest:
            raise ValueError(
                "shoplab:amiId is not set: pin the image the hosts run (`pulumi config set amiId "
                "ami-…`; for hosts that exist, the ImageId `aws ec2 describe-instances` reports) "
                "or opt in to the newest Debian 12 image with `pulumi config set amiFollowLatest "
                "true` (hosts are replaced whenever Debian publishes one); see pulumi/README.md, "
                "\"Rolling hosts on purpose\"")
        if self.ami_id and not _AMI_ID.fullmatch(self.ami_id):
            raise ValueError(f"shoplab:amiId {self.ami_id!r}: not an AMI id (ami-<8 or 17 hex>)")


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
             tags: dict, opts: pulumi.ResourceOptions,
             availability_zone: pulumi.Input[str] | None = None,
             keeps_image: bool = False) -> aws.ec2.Instance:
    """One host. ``availability_zone`` places it without a subnet (the default VPC's subnet
    in that zone). ``keeps_image``: the host holds state (k3s) and keeps the image it was
    launched from when ``spec``'s image changes; it is rolled only by an explicit replace."""
    ignored = LAUNCH_ONLY_INPUTS + (["ami"] if keeps_image else [])
    return aws.ec2.Instance(
        name,
        ami=ami_id(spec, pulumi.InvokeOptions(parent=opts.parent)),
        instance_type=spec.instance_type,
        subnet_id=subnet_id,
        availability_zone=availability_zone,
        vpc_security_group_ids=security_group_ids,
        associate_public_ip_address=public_ip,
        key_name=key_name,
        user_data=user_data(hostname, spec.ssh_public_key),
        # IMDSv2 only, one hop: a container on the host cannot reach the instance role
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
        # deleted with the host: the shop's data is on RDS, ElastiCache or (stage 1) its own
        # volume (data_volume.py); the k3s host, whose root holds the cluster's state, is
        # protected instead (retention.py)
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
            volume_size=spec.root_volume_gb, volume_type="gp3", encrypted=True,
            delete_on_termination=True, tags=tags),
        monitoring=False,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=ignored)))
