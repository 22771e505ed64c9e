"""The lab's edge on this machine: where each lab stage publishes its listeners, and the CA
its clients trust (ansible/lab-ca.yml creates it).

Stage N publishes nginx's HTTP (a redirect to HTTPS, as on AWS) on 127.0.0.1:8080+N, HTTPS on
127.0.0.1:8440+N, and its Prometheus on 127.0.0.1:9090+N.

    python -m edge.lab 2   ->  "8082 8442 9092 https://127.0.0.1:8442 <CA_FILE>"  (tools/lab/up.sh)
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ansible/lab-ca.yml's default lab_ca_dir
CA_DIR = ROOT / ".state" / "lab-ca"
CA_FILE = CA_DIR / "ca.crt"


def ca_files(ca_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """What ansible/lab-ca.yml writes in ``ca_dir`` (default the lab's, CA_DIR): the CA's
    certificate, the edge's certificate and key, the database tier's, the cache tier's
    (absolute paths)."""
    d = Path(ca_dir) if ca_dir else CA_DIR
    return {"ca": str(d / "ca.crt"), "cert": str(d / "shop.crt"), "key": str(d / "shop.key"),
            "db_cert": str(d / "db.crt"), "db_key": str(d / "db.key"),
            "redis_cert": str(d / "redis.crt"), "redis_key": str(d / "redis.key")}


def make_ca(ca_dir: str | os.PathLike) -> dict[str, str]:
    """A lab CA of its own in ``ca_dir`` (a test's, a devstack's), made by ansible/lab-ca.yml
    with the ansible-playbook beside this Python; its ca_files()."""
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                          str(ROOT / "ansible" / "lab-ca.yml"), "-e", f"lab_ca_dir={ca_dir}"],
                         cwd=ROOT, capture_output=True, text=True)
    if run.returncode:   # ansible-playbook says why on stdout (4: a module it cannot resolve)
        raise RuntimeError(f"ansible/lab-ca.yml failed ({run.returncode}; needs `make collections`):\n"
                           f"{run.stdout[-3000:]}{run.stderr[-2000:]}")
    return ca_files(ca_dir)


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
    print(p["http"], p["https"], p["prometheus"], url(sys.argv[1]), CA_FILE)
