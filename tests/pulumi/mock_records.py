"""Reading what the mocks recorded: secret markers, security-group rules, taggable types."""
from __future__ import annotations

import importlib
import inspect

from pulumi.runtime import rpc


def is_secret(value) -> bool:
    """A recorded input that Pulumi sends as a secret (wrapped in the secret signature)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unwrap(value):
    return value["value"] if is_secret(value) else value


def plain_strings(value, secrets: bool = False):
    """Every string in a recorded input, skipping what is sent as a secret (``secrets``: the
    secrets' values too)."""
    if is_secret(value):
        if not secrets:
            return
        value = unwrap(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from plain_strings(item, secrets)
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item, secrets)


def ingress(resource) -> list[dict]:
    return list(resource.inputs.get("ingress") or [])


def ports_open_to(resource, cidr: str) -> set[int]:
    return {int(r["fromPort"]) for r in ingress(resource) if cidr in (r.get("cidrBlocks") or [])}


def taggable(type_token: str) -> bool:
    """Whether the provider SDK's resource class takes `tags` (found by introspection, so a
    resource cannot escape the tag check by being left off a hand-written list)."""
    package, rest = type_token.split(":", 1)
    if package != "aws":
        return False
    module, cls_name = rest.split(":")
    module = module.split("/")[0]
    cls = getattr(importlib.import_module(f"pulumi_aws.{module}"), cls_name)
    return "tags" in inspect.signature(cls._internal_init).parameters



def _references(records) -> dict:
    """What a recorded input holds when it refers to another recorded resource: the id
    (`<name>-id`) or the default ARN (stack_harness._arn) the mocks answered with."""
    from stack_harness import _arn

    refs = {}
    for r in records:
        for ref in (f"{r.name}-id", _arn(r.name)):
            refs.setdefault(ref, []).append(r)
    return refs


def property_dependencies(records) -> list[tuple]:
    """Each recorded custom resource with the resources each of its inputs depends on, as the
    engine tells a stack policy (`propertyDependencies`): the engine knows which Outputs an
    input was built from; here they are found by the ids and ARNs of the other records that
    the input holds. [(record, {property: [records]})]"""
    custom = [r for r in records if r.custom]
    refs = _references(custom)
    out = []
    for r in custom:
        deps = {}
        for prop, value in r.inputs.items():
            found = [d for s in plain_strings(value, secrets=True) for d in refs.get(s, []) if d is not r]
            if found:
                deps[prop] = list({id(d): d for d in found}.values())
        out.append((r, deps))
    return out
