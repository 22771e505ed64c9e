"""The lab's edge on this machine: where each lab stage publishes its listeners, and the CA
its clients trust (ansible/lab-ca.yml creates it).

Stage N publishes nginx's HTTP (a redirect to HTTPS, as on AWS) on 127.0.0.1:8080+N, HTTPS on
127.0.0.1:8440+N, and its Prometheus on 127.0.0.1:9090+N.

    python -m edge.lab 2   ->  "8082 8442 9092"  (tools/lab/up.sh)
"""
from __future__ import annotations

import sys
from pathlib import Path

CA_FILE = Path(__file__).resolve().parents[1] / ".state" / "lab-ca" / "ca.crt"


def ports(stage) -> dict[str, int]:
    n = int(str(stage).split("-")[0])    # "2-one-app-host" is stage 2's lab too
    return {"http": 8080 + n, "https": 8440 + n, "prometheus": 9090 + n}


def url(stage) -> str:
    """The shop's public URL of a lab stage (what its clients use)."""
    return f"https://127.0.0.1:{ports(stage)['https']}"


if __name__ == "__main__":
    p = ports(sys.argv[1])
    print(p["http"], p["https"], p["prometheus"])
