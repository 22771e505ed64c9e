"""The shop's image as the stage-3 task and the stage-4 pods run it: read-only root, /tmp
on tmpfs, uid 10001, real PostgreSQL and Redis, migrations and seed run from the image."""
from __future__ import annotations

import json

from conftest import IMAGE, podman, wait_for


def gunicorn_workers(app) -> list[tuple[int, int, int, str]]:
    """The gunicorn master is PID 1 (the entrypoint shell execs it); workers are its children."""
    return [p for p in app.processes() if p[1] == 1 and "gunicorn" in p[3]]


def test_liveness_and_readiness(app):
    assert app.get("/healthz")[0] == 200
    # Postgres and Redis reached from the image with the given URLs
    status, body = wait_for("/readyz 200", lambda: (lambda r: r if r[0] == 200 else None)(
        app.get("/readyz")), timeout=20)
    assert body["success"] is True


def test_product_listing_from_the_seeded_catalogue(app):
    status, body = app.get("/api/products?per_page=5")
    assert status == 200, body
    assert body["success"] is True
    products = body["data"]["products"] if isinstance(body["data"], dict) else body["data"]
    assert len(products) == 5
    assert all(p["name"] and p["price"] for p in products)


def test_the_storefront_is_in_the_image_and_served(app):
    import urllib.request
    from pathlib import Path
    index = (Path(__file__).resolve().parents[2] / "app" / "static" / "index.html").read_bytes()
    with urllib.request.urlopen(app.url + "/", timeout=5) as r:
        assert r.status == 200 and r.read() == index
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]


def test_runs_as_uid_10001_on_a_read_only_root(app):
    procs = app.processes()
    gunicorn = [p for p in procs if "gunicorn" in p[3]]
    assert gunicorn and {uid for _, _, uid, _ in gunicorn} == {10001}
    master = [p for p in gunicorn if p[0] == 1]
    assert master, f"gunicorn is not PID 1: {procs}"
    probe = podman("exec", app.container, "sh", "-c", "touch /opt/venv/x || touch /x", check=False)
    assert probe.returncode != 0 and "Read-only file system" in probe.stderr
    # and nothing in the image tries to write there (gunicorn's control socket did, under $HOME)
    logs = podman("logs", app.container)
    assert "Read-only file system" not in logs.stdout + logs.stderr


def test_image_defaults_give_two_workers_and_multiprocess_metrics(app):
    assert len(gunicorn_workers(app)) == 2
    # the entrypoint made PROMETHEUS_MULTIPROC_DIR on /tmp; the workers write their files there
    out = podman("exec", app.container, "sh", "-c", 'ls "$PROMETHEUS_MULTIPROC_DIR"').stdout
    assert out.split(), "no multiprocess metric files"
    with __import__("urllib.request").request.urlopen(app.url + "/metrics", timeout=5) as r:
        assert r.status == 200


def test_healthcheck_reports_healthy(app):
    health = json.loads(podman("image", "inspect", IMAGE, "--format", "{{json .HealthCheck}}").stdout)
    assert "/healthz" in " ".join(health["Test"])
    run = podman("healthcheck", "run", app.container, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    state = podman("inspect", app.container, "--format", "{{.State.Health.Status}}").stdout.strip()
    assert state == "healthy"


def test_gunicorn_cmd_args_decide_the_worker_count(lab):
    app3 = lab.start_app("app3", GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --workers 3 --threads 2")
    assert len(wait_for("3 workers", lambda: (lambda w: w if len(w) == 3 else None)(
        gunicorn_workers(app3)), timeout=20)) == 3
    assert app3.get("/healthz")[0] == 200


def test_no_compilers_pip_caches_or_init_in_the_image():
    # no build tools or installer caches, and nothing of the base's systemd host (as on Fargate)
    script = r"""
        for tool in gcc cc c++ g++ clang make pip pip3 systemctl sudo curl; do
          command -v "$tool" && echo "found $tool"; done
        ls /opt/venv/bin | grep -E '^pip' && echo "pip in the venv"
        for d in /root/.cache/pip /var/lib/apt/lists/partial /src /lib/systemd/systemd /sbin/init; do
          [ -e "$d" ] && echo "found $d"; done
        ls /var/lib/apt/lists | grep -v -E '^(lock|partial|auxfiles)$' && echo "apt lists"
        ls -d /usr/lib/gcc* /usr/include/python3* 2>/dev/null && echo "build files"
        true"""
    out = podman("run", "--rm", "--user", "0", "--entrypoint", "sh", IMAGE, "-c", script).stdout
    assert "found" not in out and "pip in" not in out and "apt lists" not in out \
        and "build files" not in out, out


def test_oci_labels():
    labels = json.loads(podman("image", "inspect", IMAGE, "--format", "{{json .Labels}}").stdout)
    assert labels["org.opencontainers.image.version"]
    assert labels["org.opencontainers.image.source"]
    assert labels["org.opencontainers.image.revision"]
