"""Where the shop runs: EC2 hosts and their volumes, ECS task definitions, the ECR repository."""
from __future__ import annotations

import re

from resource_reading import container_definitions, items, truthy

INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECR = "aws:ecr/repository:Repository"
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE", re.I)
_CREDENTIAL_URL = re.compile(r"://[^/@:\s]+:[^/@\s]+@")
_ROOT_USERS = ("0", "root")


def ec2_imdsv2_and_encrypted_root(args, report_violation):
    if args.resource_type != INSTANCE:
        return
    if (args.props.get("metadataOptions") or {}).get("httpTokens") != "required":
        report_violation("IMDSv2 not required (metadataOptions.httpTokens must be 'required')")
    if not (args.props.get("rootBlockDevice") or {}).get("encrypted"):
        report_violation("root volume not encrypted")


def ebs_volumes_encrypted(args, report_violation):
    if args.resource_type == VOLUME:
        if not truthy(args.props.get("encrypted")):
            report_violation("EBS volume not encrypted")
    elif args.resource_type == INSTANCE:
        for device in items(args.props.get("ebsBlockDevices")):
            if not truthy(device.get("encrypted")):
                report_violation(f"EBS block device {device.get('deviceName')} not encrypted")


def _containers(args):
    if args.resource_type != TASK_DEFINITION:
        return []
    return container_definitions(args.props) or []     # not JSON: the provider refuses it


def no_secrets_in_task_environment(args, report_violation):
    for container in _containers(args):
        for var in container.get("environment") or []:
            name, value = var.get("name", ""), str(var.get("value", ""))
            if _SECRET_NAME.search(name) or _CREDENTIAL_URL.search(value):
                report_violation(f"{container.get('name')}: {name} is a secret in plain "
                                 "environment; use the container's `secrets` (Secrets Manager)")


def ecs_task_not_privileged(args, report_violation):
    for container in _containers(args):
        name = container.get("name")
        if truthy(container.get("privileged")):
            report_violation(f"{name}: privileged container")
        user = str(container.get("user") or "").split(":")[0].strip()
        if user in _ROOT_USERS:
            report_violation(f"{name}: runs as {container.get('user')!r} (root); the image's "
                             "unprivileged user is 10001")
        added = ((container.get("linuxParameters") or {}).get("capabilities") or {}).get("add")
        if added:
            report_violation(f"{name}: adds Linux capabilities {added}")


def ecs_read_only_root(args, report_violation):
    for container in _containers(args):
        if container.get("readonlyRootFilesystem") is not True:
            report_violation(f"{container.get('name')}: readonlyRootFilesystem is "
                             f"{container.get('readonlyRootFilesystem')!r}: mount what it writes "
                             "(e.g. /tmp) as volumes and make the root read-only")


def ecr_scan_on_push_immutable_tags(args, report_violation):
    if args.resource_type != ECR:
        return
    if str(args.props.get("imageTagMutability") or "MUTABLE").upper() != "IMMUTABLE":
        report_violation(f"imageTagMutability is {args.props.get('imageTagMutability')!r}: "
                         "IMMUTABLE, so a deployed tag always names the image that was scanned")
    if not truthy((args.props.get("imageScanningConfiguration") or {}).get("scanOnPush")):
        report_violation("imageScanningConfiguration.scanOnPush is off")
