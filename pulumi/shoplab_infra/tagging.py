"""The tags every taggable resource carries, so the bill and the console group by stage."""
from __future__ import annotations

REQUIRED_TAGS = ("Project", "Stage", "ManagedBy")


def tags(stage: str, name: str | None = None, **extra: str) -> dict[str, str]:
    base = {"Project": "shoplab", "Stage": stage, "ManagedBy": "pulumi"}
    if name:
        base["Name"] = f"shoplab-{stage}-{name}"
    return {**base, **extra}
