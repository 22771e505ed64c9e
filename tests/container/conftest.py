"""Fixtures for the image tests: the shop's image (built by `make test-container` with
tools/build-app-image.sh) on a podman network of the test's own, next to real PostgreSQL and
Redis containers (Debian's packages on the local base image, tests/container/services.Containerfile).
Everything created carries the label ``shoplab.test=<run id>`` and is removed at the end,
whatever happened."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
IMAGE = os.environ.get("SHOP_IMAGE", "localhost/shoplab/shop:latest")
BASE_IMAGE = os.environ.get("BASE_IMAGE", "localhost/shoplab-debian-systemd:bookworm")
SERVICES_IMAGE = "localhost/shoplab/test-services:bookworm"
PG_BIN = "/usr/lib/postgresql/15/bin"
# how the shop's containers run everywhere (k8s securityContext, the lab): read-only root,
# /tmp the only writable place, the image's non-root uid
HARDENED = ["--read-only", "--tmpfs", "/tmp:rw,mode=1777", "--user", "10001",
            # podman here has no systemd to schedule the probe: the tests run it by hand
            "--health-interval", "disable"]


def podman(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode:
        raise AssertionError(f"podman {' '.join(args)}: rc {proc.returncode}\n{proc.stderr}")
    return proc


def wait_for(what: str, ok, timeout: float = 60.0, every: float = 0.5):
    """Poll ``ok()`` until it returns something truthy (bounded in time)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = ok()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - reported below if it never succeeds
            last = exc
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {last!r})")


@dataclass
class Lab:
    """One run's network and containers; ``label`` finds them all for the clean-up."""
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    db_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    redis_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def label(self) -> str:
        return f"shoplab.test=container-{self.run_id}"

    @property
    def network(self) -> str:
        return f"shoplab-ctest-{self.run_id}"

    def name(self, role: str) -> str:
        return f"shoplab-ctest-{self.run_id}-{role}"

    def app_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": f"postgresql://shop:{self.db_password}@db:5432/shop",
            "REDIS_URL": f"redis://:{self.redis_password}@redis:6379/0",
            "JWT_SECRET": secrets.token_urlsafe(32),
            "STRIPE_SECRET_KEY": "sk_test_container_test",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_container_test",
            "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
            "READINESS_INTERVAL": "1",
        }

    def run(self, role: str, image: str, *cmd: str, env: dict | None = None,
            opts: tuple = (), detach: bool = True) -> subprocess.CompletedProcess:
        args = ["run", "--label", self.label, "--network", self.network,
                "--network-alias", role, *opts]
        args += ["-d", "--name", self.name(role)] if detach else ["--rm"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        return podman(*args, image, *cmd)

    def start_app(self, role: str, **env: str) -> "App":
        self.run(role, IMAGE, env={**self.app_env(), **env},
                 opts=(*HARDENED, "-p", "127.0.0.1::8000"))
        port = podman("port", self.name(role), "8000/tcp").stdout.strip().rsplit(":", 1)[1]
        app = App(self.name(role), f"http://127.0.0.1:{port}")
        wait_for(f"{role} /healthz", lambda: app.get("/healthz")[0] == 200)
        return app

    def remove(self) -> None:
        ids = podman("ps", "-aq", "--filter", f"label={self.label}", check=False).stdout.split()
        if ids:
            podman("rm", "-f", "-t", "2", *ids, check=False)
        podman("network", "rm", "-f", self.network, check=False)


@dataclass
class App:
    container: str
    url: str

    def get(self, path: str) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def processes(self) -> list[tuple[int, int, str]]:
        """(pid, ppid, uid, command line) of every process in the container."""
        out = podman("exec", self.container, "ps", "-eo", "pid=,ppid=,uid=,args=").stdout
        return [(int(p), int(pp), int(u), args) for p, pp, u, args in
                (line.split(None, 3) for line in out.splitlines() if line.strip())]


def _start_services(lab: Lab) -> None:
    if not podman("image", "exists", SERVICES_IMAGE, check=False).returncode == 0:
        podman("build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", SERVICES_IMAGE,
               "-f", str(HERE / "services.Containerfile"), str(HERE), timeout=600)
    podman("network", "create", "--label", lab.label, lab.network)
    # PostgreSQL as its own user, data on the container's tmpfs (disposable), password auth
    # from the network as in the lab
    lab.run("db", SERVICES_IMAGE, "runuser", "-u", "postgres", "--", "sh", "-ec", f"""
        {PG_BIN}/initdb -D /tmp/pg -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >/dev/null
        echo 'host all all 0.0.0.0/0 scram-sha-256' >> /tmp/pg/pg_hba.conf
        exec {PG_BIN}/postgres -D /tmp/pg -c listen_addresses='*' -c unix_socket_directories=/tmp \
            -c fsync=off -c synchronous_commit=off""", opts=("--tmpfs", "/tmp:rw,mode=1777"))
    lab.run("redis", SERVICES_IMAGE, "redis-server", "--bind", "0.0.0.0", "--port", "6379",
            "--requirepass", lab.redis_password, "--save", "", "--appendonly", "no")

    def psql(sql: str) -> subprocess.CompletedProcess:
        return podman("exec", "-u", "postgres", lab.name("db"), "psql", "-h", "/tmp",
                      "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql, check=False)
    wait_for("postgres", lambda: psql("select 1").returncode == 0)
    for sql in (f"CREATE ROLE shop LOGIN PASSWORD '{lab.db_password}'",
                "CREATE DATABASE shop OWNER shop"):
        res = psql(sql)
        assert res.returncode == 0, res.stderr


@pytest.fixture(scope="session")
def lab():
    assert podman("image", "exists", IMAGE, check=False).returncode == 0, \
        f"{IMAGE} missing: run tools/build-app-image.sh (make test-container does)"
    lab = Lab()
    try:
        _start_services(lab)
        # the one-off jobs of a deploy, as the hardened image user (as in the lab and on ECS)
        for job in (["python", "-m", "sql.migrate"], ["python", "-m", "sql.seed", "--products", "50"]):
            lab.run("job", IMAGE, *job, env=lab.app_env(), opts=tuple(HARDENED), detach=False)
        yield lab
    finally:
        lab.remove()


@pytest.fixture(scope="session")
def app(lab):
    """The image with its own defaults (GUNICORN_CMD_ARGS of the image), serving the storefront
    as stages 3 and 4 do (SERVE_STOREFRONT)."""
    return lab.start_app("app", SERVE_STOREFRONT="true")
