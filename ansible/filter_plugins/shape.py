"""The ``shoplab_shape`` filter: a stage's row of capacity/shapes.py as a dict.

    {{ shoplab_stage | shoplab_shape }}  ->  {"workers": 2, "threads": 4, "pool_max_size": 8, ...}
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

# filter plugins run on the controller, from a checkout of this repository
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from capacity.shapes import shape  # noqa: E402


def shoplab_shape(stage) -> dict:
    return dataclasses.asdict(shape(stage))


class FilterModule:
    """Ansible filter: ``shoplab_shape``."""

    def filters(self):
        return {"shoplab_shape": shoplab_shape}
