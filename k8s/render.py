"""Render the shop's objects as multi-document YAML for the Ansible side.

    python -m k8s.render [--values values.yml|-] > shop.yaml
    DATABASE_URL=... REDIS_URL=... python -m k8s.render --secret-from-env > secret.yaml

The values file (``-``: standard input, JSON or YAML) holds only overrides of
``k8s.manifests.default_values()`` (nested keys are merged). ``--secret-from-env`` prints only
the shop's Secret, its data taken from the environment variables of the same names, so
credentials go from the vault to the cluster without being written in the repo. The Pulumi
stage-4 component calls ``shop_objects`` directly, so both deploy the same objects.
"""
from __future__ import annotations

import argparse
import os
import sys

import yaml

from k8s.manifests import merge_values, secret_object, shop_objects


def render(values: dict) -> str:
    return yaml.safe_dump_all(shop_objects(values), sort_keys=False, default_flow_style=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m k8s.render", description=__doc__.split("\n")[0])
    parser.add_argument("--values", help="YAML file of overrides of default_values(); - = stdin")
    parser.add_argument("--secret-from-env", action="store_true",
                        help="print only the Secret, its data read from the environment")
    args = parser.parse_args(argv)
    overrides = {}
    if args.values == "-":
        overrides = yaml.safe_load(sys.stdin) or {}
    elif args.values:
        with open(args.values, encoding="utf-8") as f:
            overrides = yaml.safe_load(f) or {}
    if not isinstance(overrides, dict):
        parser.error(f"{args.values}: expected a mapping of values")
    values = merge_values(overrides)
    if args.secret_from_env:
        try:
            secret = secret_object(values, dict(os.environ))
        except ValueError as exc:
            parser.error(str(exc))
        sys.stdout.write(yaml.safe_dump(secret, sort_keys=False))
    else:
        sys.stdout.write(render(values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
