"""Reading properties the way the analyzer hands them over.

The CLI passes a rule `args.props` wrapped in pulumi_policy's unknown-checking proxies: dicts
are Mappings and lists are Sequences (not `list`: `+` does not work on them), numbers arrive
as floats, and reading a value that is unknown during preview raises UnknownValueError (the
CLI then reports "can't run during preview" and runs the rule again at update)."""
from __future__ import annotations

import json

from pulumi_policy.proxy import UnknownValueError

UNKNOWN = object()      # what `known()` returns for a value not known during preview


def known(read, default=UNKNOWN):
    """`read()`, or `default` when the value is not known yet (preview)."""
    try:
        return read()
    except UnknownValueError:
        return default


def items(value) -> list:
    """A list property as a plain list (None -> [])."""
    return list(value or [])


def dependencies(resource, prop: str) -> list:
    """The resources a stack rule's resource's `prop` was built from (propertyDependencies)."""
    return list((resource.property_dependencies or {}).get(prop) or [])


def dig(props, *path):
    """props[path[0]][path[1]]..., None as soon as a level is missing; a list level is its
    first element (the SDK's single-item blocks, e.g. an EventTarget's ecsTarget)."""
    value = props
    for key in path:
        if isinstance(value, (str, bytes)) or value is None:
            return None
        if not hasattr(value, "get"):
            value = next(iter(value), None)
            if value is None:
                return None
        value = value.get(key)
    return value


def truthy(value) -> bool:
    """A boolean property, also when spelled as a string ("true", "ENABLED")."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "enabled", "yes", "1")
    return bool(value)


def container_definitions(props) -> list[dict] | None:
    """An ECS task definition's containers (the property is a JSON string); None when it is
    not JSON. Unknown during preview: UnknownValueError, so the CLI says it could not check."""
    raw = props.get("containerDefinitions") or "[]"
    try:
        return json.loads(raw) if isinstance(raw, str) else [dict(c) for c in raw]
    except (TypeError, ValueError):
        return None
