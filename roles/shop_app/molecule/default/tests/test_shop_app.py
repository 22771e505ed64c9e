"""The shop_app role: venv, env file with every setting, gunicorn unit, migrations, readiness."""
import json

import pytest

VENV_PY = "/opt/shoplab/venv/bin/python"


def test_user_and_venv(host):
    assert host.user("shop").shell == "/usr/sbin/nologin"
    assert host.file(VENV_PY).exists
    assert host.run(f"{VENV_PY} -c 'import app, sql, fakestripe, gunicorn'").rc == 0


def test_env_file_private_and_complete(host):
    env = host.file("/etc/shoplab/shop.env")
    assert (env.user, env.mode) == ("root", 0o600)
    names = {line.split("=", 1)[0] for line in env.content_string.splitlines()
             if line and not line.startswith("#")}
    wanted = set(json.loads(host.check_output(
        f"{VENV_PY} -c 'import json; from app.settings import Settings; "
        "print(json.dumps([n for n, _, _ in Settings.describe()]))'")))
    assert wanted - names == set(), "settings missing from the env file"
    assert 'DB_POOL_MAX_SIZE="4"' in env.content_string


def test_gunicorn_settings_from_variables(host):
    conf = host.file("/etc/shoplab/gunicorn.conf.py").content_string
    assert "workers = 2" in conf and "threads = 4" in conf and "timeout = 30" in conf
    unit = host.file("/etc/systemd/system/shop-app.service").content_string
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in unit


@pytest.mark.parametrize("unit", ["shop-app", "fake-stripe"])
def test_services(host, unit):
    svc = host.service(unit)
    assert svc.is_running and svc.is_enabled


def test_ports(host):
    assert host.socket("tcp://127.0.0.1:8000").is_listening
    assert host.socket("tcp://127.0.0.1:12111").is_listening


def test_worker_count(host):
    # master + 2 workers
    pids = host.check_output("pgrep -u shop -f 'gunicorn app.wsgi'").split()
    assert len(pids) == 3


def test_migrations_applied_once(host):
    out = host.check_output(
        "set -a; . /etc/shoplab/shop.env; /opt/shoplab/venv/bin/python -m sql.migrate --list")
    assert out and "pending" not in out


def test_ready_and_serving(host):
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/readyz") == "200"
    body = json.loads(host.check_output("curl -sf http://127.0.0.1:8000/api/products"))
    assert body["success"] is True


def test_graceful_reload_keeps_master(host):
    before = host.check_output("systemctl show -p MainPID --value shop-app")
    host.check_output("systemctl reload shop-app")
    after = host.check_output("systemctl show -p MainPID --value shop-app")
    assert before == after
    assert host.run("curl -sf --retry 5 --retry-delay 1 --retry-all-errors "
                    "http://127.0.0.1:8000/healthz").rc == 0


def test_statement_timeout_reaches_sessions_through_pgbouncer(host):
    # pgbouncer drops the app's "options" startup parameter; the db role's default must apply
    out = host.check_output(
        "set -a; . /etc/shoplab/shop.env; /opt/shoplab/venv/bin/python -c "
        "\"import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], prepare_threshold=None); "
        "print(c.execute('SHOW statement_timeout').fetchone()[0])\"")
    assert out == "5s"
