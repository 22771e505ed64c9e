"""The lab's edge on this machine: where each lab stage publishes its listeners, and the CA
its clients trust (ansible/lab-ca.yml creates it).

Stage N publishes nginx's HTTP (a redirect to HTTPS, as on AWS) on 127.0.0.1:8080+N, HTTPS on
127.0.0.1:8440+N, and its Prometheus on 127.0.0.1:9090+N.

    python -m edge.lab 2   ->  "8082 8442 9092 https://127.0.0.1:8442"  (tools/lab/up.sh)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# ansible/lab-ca.yml's default lab_ca_dir
CA_DIR = Path(__file__).resolve().parents[1] / ".state" / "lab-ca"
CA_FILE = CA_DIR / "ca.crt"


def ca_files(_=None) -> dict[str, str]:
    """The lab CA's certificate and the edge's certificate and key (absolute paths)."""
    return {"ca": str(CA_FILE), "cert": str(CA_DIR / "shop.crt"), "key": str(CA_DIR / "shop.key")}


def trust_ca(cafile: str | os.PathLike = CA_FILE) -> None:
    """This process and the clients it starts (urllib, aiohttp, locust's users, curl via
    OpenSSL) trust ``cafile`` only: OpenSSL's SSL_CERT_FILE, read by every default context.
    For the lab's clients, which talk to nothing else."""
    if not Path(cafile).is_file():
        raise FileNotFoundError(f"{cafile}: no lab CA (ansible-playbook ansible/lab-ca.yml creates it)")
    os.environ["SSL_CERT_FILE"] = str(cafile)


def ports(stage) -> dict[str, int]:
    n = int(str(stage).split("-")[0])    # "2-one-app-host" is stage 2's lab too
    return {"http": 8080 + n, "https": 8440 + n, "prometheus": 9090 + n}


def url(stage) -> str:
    """The shop's public URL of a lab stage (what its clients use)."""
    return f"https://127.0.0.1:{ports(stage)['https']}"


if __name__ == "__main__":
    p = ports(sys.argv[1])
    print(p["http"], p["https"], p["prometheus"], url(sys.argv[1]))
