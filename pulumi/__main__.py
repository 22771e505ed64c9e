"""Shoplab on AWS: `pulumi up --stack stageN` builds stage N (see pulumi/README.md).

Only reads config, composes the stage and exports its outputs; the components are in
shoplab_infra/ (not a package named `pulumi`, which would shadow the SDK)."""
import sys
from pathlib import Path

import pulumi

# the shop's settings (app/) and its Kubernetes objects (k8s/) are the single definitions the
# stacks read; the CLI runs this file from pulumi/, so put the repository root on the path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shoplab_infra import knobs, stages  # noqa: E402

config = pulumi.Config()
stage = config.get("stage") or pulumi.get_stack()
for name, value in stages.build(stage, knobs.from_pulumi_config(config, stage), config).items():
    pulumi.export(name, value)
