"""Render the shop's objects as multi-document YAML for the Ansible side.

    python -m k8s.render [--values values.yml] > shop.yaml

The values file holds only overrides of ``k8s.manifests.default_values()`` (nested keys are
merged). The Pulumi stage-4 component calls ``shop_objects`` directly, so both deploy the
same objects.
"""
from __future__ import annotations

import argparse
import sys

import yaml

from k8s.manifests import merge_values, shop_objects


def render(values: dict) -> str:
    return yaml.safe_dump_all(shop_objects(values), sort_keys=False, default_flow_style=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m k8s.render", description=__doc__.split("\n")[0])
    parser.add_argument("--values", help="YAML file of overrides of default_values()")
    args = parser.parse_args(argv)
    overrides = {}
    if args.values:
        with open(args.values, encoding="utf-8") as f:
            overrides = yaml.safe_load(f) or {}
        if not isinstance(overrides, dict):
            parser.error(f"{args.values}: expected a mapping of values")
    sys.stdout.write(render(merge_values(overrides)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
