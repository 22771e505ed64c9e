"""Ansible filters over capacity/pool_budget.py, the one connection-budget arithmetic.

    {{ {'app_hosts': 2, 'workers': 2, ...} | pool_budget }}   -> pool_budget(**inputs)
    {{ memory_bytes | rds_max_connections }}
"""
from __future__ import annotations

import sys
from pathlib import Path

# filter plugins run on the controller, from a checkout of this repository
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from capacity.pool_budget import pool_budget, rds_max_connections  # noqa: E402


def _pool_budget_filter(inputs: dict) -> dict:
    """``pool_budget`` with its keyword arguments given as one dict (a filter has one input)."""
    return pool_budget(**inputs)


class FilterModule:
    """Ansible filters: ``pool_budget`` and ``rds_max_connections``."""

    def filters(self):
        return {"pool_budget": _pool_budget_filter, "rds_max_connections": rds_max_connections}
