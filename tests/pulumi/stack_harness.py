"""Runs a whole stack program (pulumi/__main__.py) against recording mocks, offline.

No Pulumi CLI or provider plugin is involved: ``pulumi.runtime.set_mocks`` replaces the
engine, and the stack's config is loaded from ``Pulumi.<stack>.yaml`` by hand (the mock
runtime does not read stack files), plus the per-operator values every stack requires.
Besides each resource's inputs, the mock monitor records the options the engine would act on
(protect, ignore_changes, delete_before_replace), which ``MockResourceArgs`` does not carry.
"""
from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "pulumi"
for extra in (PROGRAM, PROGRAM / "policy"):       # shoplab_infra, shoplab_policies
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

STAGES = ("stage1", "stage2", "stage3", "stage4")
IMAGE_DIGEST = "sha256:" + "5e" * 32
# What an operator sets per stack (see the comments in Pulumi.stageN.yaml); test values.
OPERATOR_CONFIG = {
    "shoplab:adminCidrs": ["198.51.100.7/32"],
    "shoplab:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest operator@shoplab",
    "shoplab:amiId": "ami-0a1b2c3d4e5f60718",      # the image pin (stages with hosts)
    "shoplab:domainName": "shop.example.com",      # the shop's name (stages 2-3: required)
    "shoplab:imageDigest": IMAGE_DIGEST,           # the pushed image (stage 3)
}
OPERATOR_SECRETS = {
    "shoplab:stripeSecretKey": "sk_test_operator",
    "shoplab:stripeWebhookSecret": "whsec_operator",
    "shoplab:kubeconfig": "apiVersion: v1\nkind: Config\nclusters: []\n",
}


def _arn(name: str) -> str:
    return f"arn:aws:mock:us-east-1:123456789012:{name}"


# physical ids where the program derives something from the id's shape; others: <name>-id
IDS = {"aws:ebs/volume:Volume": "vol-0123456789abcdef0"}


@dataclass(frozen=True)
class RecordedOptions:
    """The resource options of one registration, as the engine receives them."""
    protect: bool = False
    ignore_changes: tuple = ()
    delete_before_replace: bool = False


class RecordingMonitor(MockMonitor):
    def RegisterResource(self, request):
        self.mocks.options[(request.type, request.name)] = RecordedOptions(
            protect=request.protect, ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace)
        return super().RegisterResource(request)


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every registration and answers with realistic outputs for what is read."""

    def __init__(self):
        self.resources, self.calls = [], []
        self.options: dict[tuple[str, str], RecordedOptions] = {}   # (type, name) ->

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        outs = dict(args.inputs)
        name, typ = args.name, args.typ
        outs.setdefault("arn", _arn(name))
        extra = {
            "aws:lb/loadBalancer:LoadBalancer": {
                "dnsName": f"{name}-123.us-east-1.elb.amazonaws.com",
                "arnSuffix": f"app/{name}/50dc6c495c0c9188"},
            "aws:lb/targetGroup:TargetGroup": {"arnSuffix": f"targetgroup/{name}/73e2d6bc24d8a067"},
            "aws:rds/instance:Instance": {
                "address": f"{name}.abc.us-east-1.rds.amazonaws.com",
                "endpoint": f"{name}.abc.us-east-1.rds.amazonaws.com:5432"},
            "aws:elasticache/replicationGroup:ReplicationGroup": {
                "primaryEndpointAddress": f"master.{name}.abc.use1.cache.amazonaws.com"},
            "aws:ec2/instance:Instance": {"publicIp": "203.0.113.20", "privateIp": "10.20.0.10"},
            "aws:ec2/eip:Eip": {"publicIp": "203.0.113.99"},
            "aws:ecr/repository:Repository": {
                "repositoryUrl": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"},
            "aws:ec2/keyPair:KeyPair": {"keyName": name},
            "aws:acm/certificate:Certificate": {"domainValidationOptions": [{
                "domainName": args.inputs.get("domainName"),
                "resourceRecordName": f"_0a1b2c3d.{args.inputs.get('domainName')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_4e5f6a7b.xlfgrmvvlj.acm-validations.aws."}]},
            "aws:route53/record:Record": {"fqdn": str(args.inputs.get("name", "")).rstrip(".")},
            "aws:ecs/cluster:Cluster": {"name": name},
            "aws:ecs/service:Service": {"name": name},
            "aws:ecs/taskDefinition:TaskDefinition": {
                "arn": f"arn:aws:ecs:us-east-1:123456789012:task-definition/"
                       f"{args.inputs.get('family')}:1",
                "arnWithoutRevision": f"arn:aws:ecs:us-east-1:123456789012:task-definition/"
                                      f"{args.inputs.get('family')}"},
            "aws:cloudwatch/eventRule:EventRule": {"name": name},
            "aws:iam/role:Role": {"name": name},
            "aws:rds/subnetGroup:SubnetGroup": {"name": name},
            "aws:rds/parameterGroup:ParameterGroup": {"name": name},
            "aws:elasticache/subnetGroup:SubnetGroup": {"name": name},
            "random:index/randomPassword:RandomPassword": {"result": f"generated{len(name)}x" * 3},
        }.get(typ, {})
        outs.update(extra)
        return [IDS.get(typ, f"{name}-id"), outs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append(args)
        return {
            "aws:ec2/getAmi:getAmi": {"id": "ami-0123456789abcdef0", "architecture": "x86_64"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": ["us-east-1a", "us-east-1b", "us-east-1c"]},
            "aws:index/getRegion:getRegion": {"name": "us-east-1", "region": "us-east-1"},
        }.get(args.token, {})

    # --- queries used by the tests --------------------------------------------------
    def of_type(self, typ: str) -> list:
        return [r for r in self.resources if r.typ == typ]

    def custom(self) -> list:
        return [r for r in self.resources if r.custom]

    def options_of(self, resource) -> RecordedOptions:
        return self.options[(resource.typ, resource.name)]

    def named(self, typ: str, name: str):
        [found] = [r for r in self.of_type(typ) if r.name == name]
        return found


@dataclass
class StackRun:
    stage: str
    mocks: RecordingMocks
    outputs: dict = field(default_factory=dict)     # export name -> resolved value
    secret_outputs: set = field(default_factory=set)


def stack_file_config(stage: str) -> dict:
    data = yaml.safe_load((ROOT / f"Pulumi.{stage}.yaml").read_text()) or {}
    return dict(data.get("config") or {})


def _wire(value) -> str:
    # Pulumi config values are strings; structured ones travel as JSON
    return value if isinstance(value, str) else json.dumps(value)


def run_stack(stage: str, overrides: dict | None = None, drop: tuple = (),
              secrets: dict | None = None, mocks: RecordingMocks | None = None,
              operator: bool = True) -> StackRun:
    """Run pulumi/__main__.py as stack `stage`: stack file + operator config + overrides
    (``mocks``: record into these, to read them after a run that raised; ``operator=False``:
    none of the test operator's values, only the stack file, ``overrides`` and ``secrets``)."""
    if secrets is None:
        secrets = OPERATOR_SECRETS if operator else {}
    config = {**stack_file_config(stage), **(OPERATOR_CONFIG if operator else {}),
              **secrets, **(overrides or {})}
    for key in drop:
        config.pop(key, None)
    secret_keys = [k for k in config if k in OPERATOR_SECRETS or k in secrets]
    pulumi.runtime.set_all_config({k: _wire(v) for k, v in config.items()},
                                  secret_keys=secret_keys)
    mocks = RecordingMocks() if mocks is None else mocks
    pulumi.runtime.set_mocks(mocks, project="shoplab", stack=stage, preview=False,
                             monitor=RecordingMonitor(mocks))
    run = StackRun(stage, mocks)
    exported = {}
    original_export = pulumi.export

    def capture(name, value):
        exported[name] = value
        original_export(name, value)

    @pulumi.runtime.test
    def program():
        pulumi.export = capture
        try:
            runpy.run_path(str(PROGRAM / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = original_export

        async def resolve_all():
            for name, value in exported.items():
                out = pulumi.Output.from_input(value)
                run.outputs[name] = await out.future()
                if await out.is_secret():
                    run.secret_outputs.add(name)
        return pulumi.Output.from_input(resolve_all())

    program()
    return run
