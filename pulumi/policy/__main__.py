"""Shoplab's policy pack: `pulumi preview --stack stageN --policy-pack pulumi/policy`.

The catalogue is shoplab_policies.py, the rules are in rules_*.py (plain functions,
unit-tested in tests/pulumi). Every policy sets its own enforcement level; the pack's level
only applies to one that would not."""
from pulumi_policy import EnforcementLevel, PolicyPack

from shoplab_policies import POLICIES

PolicyPack(name="shoplab-security", enforcement_level=EnforcementLevel.MANDATORY,
           policies=POLICIES)
