"""Filters over the edge: ``shoplab_edge`` (edge/tls.py's facts), ``shoplab_lab_ports`` and
``shoplab_lab_ca`` (edge/lab.py), ``shoplab_alb`` (a stack's load-balancer settings).

    {{ none | shoplab_edge }}               ->  {"hsts": "max-age=31536000", ...}
    {{ shoplab_stage | shoplab_alb }}       ->  {"healthCheckPath": "/healthz", "healthCheckInterval": 30, ...}
    {{ shoplab_stage | shoplab_lab_ports }} ->  {"http": 8081, "https": 8441, "prometheus": 9091}
    {{ none | shoplab_lab_ca }}              ->  {"ca": ".../.state/lab-ca/ca.crt", "cert": ..., "key": ...}
"""
from __future__ import annotations

import sys
from pathlib import Path

# filter plugins run on the controller, from a checkout of this repository
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "pulumi")]
from edge import lab, tls  # noqa: E402
from shoplab_infra.knobs import from_stack_file  # noqa: E402

# The ALB's settings (pulumi/shoplab_infra/load_balancer.py) its lab stand-in mirrors
ALB_KNOBS = ("appPort", "healthCheckPath", "healthCheckInterval", "healthCheckTimeout",
             "healthyThreshold", "unhealthyThreshold", "deregistrationDelay")


def shoplab_edge(_=None) -> dict:
    return tls.facts()


def shoplab_alb(stage) -> dict:
    """Stack ``stage<N>``'s load-balancer settings: its Pulumi.stageN.yaml over the knobs'
    defaults, as ``pulumi up`` gives them to the ALB ("2-one-app-host" is stage 2's)."""
    knobs = from_stack_file(f"stage{str(stage).split('-')[0]}")
    return {key: knobs.get(key) for key in ALB_KNOBS}


class FilterModule:
    """Ansible filters: ``shoplab_edge``, ``shoplab_lab_ports``, ``shoplab_lab_ca``,
    ``shoplab_alb``."""

    def filters(self):
        return {"shoplab_edge": shoplab_edge, "shoplab_lab_ports": lab.ports,
                "shoplab_lab_ca": lab.ca_files, "shoplab_alb": shoplab_alb}
