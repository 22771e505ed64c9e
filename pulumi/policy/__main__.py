"""Shoplab's policy pack: `pulumi preview --stack stageN --policy-pack pulumi/policy`.

The rules are in shoplab_policies.py (plain functions, unit-tested in tests/pulumi)."""
from pulumi_policy import PolicyPack

from shoplab_policies import POLICIES

PolicyPack(name="shoplab-security", enforcement_level="mandatory", policies=POLICIES)
