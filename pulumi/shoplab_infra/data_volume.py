"""DataVolume: an EBS volume of its own for a host's database (stage 1: PostgreSQL), so the
data outlives the instance; the Ansible side formats and mounts it.

Encrypted gp3, in the host's availability zone, protected and snapshotted on deletion by the
retention policy (retention.py), attached at ``DEVICE_NAME``. The attachment stops the
instance before it detaches the volume (PostgreSQL shuts down cleanly; a mounted file system
is never pulled away) and is replaced delete-first: when the host is replaced on purpose, the
old instance is stopped, the volume detached and attached to the new instance.

Device names on Nitro instances (t3 and every current type): EBS volumes are NVMe devices,
numbered by the kernel in no guaranteed order (``/dev/nvme1n1``, ...); the name given to the
attachment (``/dev/sdf``) is an EC2 API name, linked only where the image ships Amazon's EBS
udev rules. The OS's stable name for the volume is the standard udev link built from the NVMe
model and serial, the serial being the volume id without its dash: ``os_device_path``
(``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…``).
On a Xen type (t2) the volume is ``/dev/xvdf`` instead and that link does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from shoplab_infra.retention import Retention
from shoplab_infra.tagging import tags

DEVICE_NAME = "/dev/sdf"          # the first of the names AWS recommends for data volumes
_NVME_BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"


def os_device_path(volume_id: str) -> str:
    """The path a Nitro instance's OS gives ``volume_id``: vol-0abc… → …_vol0abc…."""
    return _NVME_BY_ID + volume_id.replace("-", "")


def zone(configured: str, opts: pulumi.InvokeOptions | None = None) -> pulumi.Input[str]:
    """The zone of the volume and its host: ``configured`` (shoplab:dataVolumeZone) or the
    region's first available zone. A volume cannot leave its zone, so the host is placed
    in it, not the other way round."""
    if configured:
        return configured
    return aws.get_availability_zones_output(state="available", opts=opts).names[0]


@dataclass
class DataVolumeArgs:
    stage: str
    instance_id: pulumi.Input[str]
    availability_zone: pulumi.Input[str]     # the host's
    size_gb: int
    retention: Retention


class DataVolume(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataVolumeArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:DataVolume", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.size_gb < 1:
            raise ValueError(f"{name}: dataVolumeGb must be at least 1, got {args.size_gb}")
        self.volume = aws.ebs.Volume(
            f"{name}-volume", availability_zone=args.availability_zone, size=args.size_gb,
            type="gp3", encrypted=True, **args.retention.volume(),
            tags=tags(args.stage, name), opts=args.retention.keep(child))
        self.attachment = aws.ec2.VolumeAttachment(
            f"{name}-attachment", device_name=DEVICE_NAME, volume_id=self.volume.id,
            instance_id=args.instance_id, stop_instance_before_detaching=True,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True))
        self.volume_id = self.volume.id
        self.os_device = self.volume.id.apply(os_device_path)
        self.register_outputs({"volume_id": self.volume_id, "os_device": self.os_device})
