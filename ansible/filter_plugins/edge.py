"""Filters over edge/: ``shoplab_edge`` (edge/tls.py's facts), ``shoplab_lab_ports`` and
``shoplab_lab_ca`` (edge/lab.py).

    {{ none | shoplab_edge }}               ->  {"hsts": "max-age=31536000", ...}
    {{ shoplab_stage | shoplab_lab_ports }} ->  {"http": 8081, "https": 8441, "prometheus": 9091}
    {{ none | shoplab_lab_ca }}              ->  {"ca": ".../.state/lab-ca/ca.crt", "cert": ..., "key": ...}
"""
from __future__ import annotations

import sys
from pathlib import Path

# filter plugins run on the controller, from a checkout of this repository
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from edge import lab, tls  # noqa: E402


def shoplab_edge(_=None) -> dict:
    return tls.facts()


class FilterModule:
    """Ansible filters: ``shoplab_edge``, ``shoplab_lab_ports``, ``shoplab_lab_ca``."""

    def filters(self):
        return {"shoplab_edge": shoplab_edge, "shoplab_lab_ports": lab.ports,
                "shoplab_lab_ca": lab.ca_files}
