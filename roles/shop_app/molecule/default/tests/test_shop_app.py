"""The shop_app role: venv, env file with every setting, gunicorn unit, migrations, readiness,
the reaper's timer and one pass of it."""
import json

import pytest

VENV_PY = "/opt/shoplab/venv/bin/python"
MIGRATE_ENV = "/etc/shoplab/migrate.env"


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
    # each level of the template: the play's variable, the role's default, the app's default
    assert 'DB_POOL_MAX_SIZE="4"' in env.content_string
    assert 'TRUSTED_PROXY_HOPS="1"' in env.content_string           # the app's default is 0
    app_default = host.check_output(
        f"{VENV_PY} -c 'from app.settings import Settings; print(Settings().order_hold_minutes)'")
    assert f'ORDER_HOLD_MINUTES="{app_default}"' in env.content_string


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
    out = host.check_output(f"set -a; . /etc/shoplab/shop.env; . {MIGRATE_ENV}; "
                            f"{VENV_PY} -m sql.migrate --list")
    assert out and "pending" not in out


def test_the_owners_credentials_are_for_the_migrations_only(host):
    env = host.file(MIGRATE_ENV)
    assert (env.user, env.mode) == ("root", 0o600)
    assert "MIGRATION_DATABASE_URL=" in env.content_string
    assert "MIGRATION_DATABASE_URL" not in host.file("/etc/shoplab/shop.env").content_string
    for unit in ("shop-app", "shop-reaper"):
        assert "migrate.env" not in host.file(f"/etc/systemd/system/{unit}.service").content_string


def test_the_app_role_reads_and_writes_rows_and_owns_nothing(host):
    """The migrator (as the owner) granted the app's role the rows and nothing more."""
    probe = """\
import os, psycopg
c = psycopg.connect(os.environ["DATABASE_URL"], prepare_threshold=None, autocommit=True)
pid = c.execute("INSERT INTO products (name, price, category, stock)"
                " VALUES ('probe', 1, 'probe', 1) RETURNING id").fetchone()[0]
c.execute("DELETE FROM products WHERE id = %s", (pid,))
owner = c.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'products'").fetchone()[0]
print(c.info.user, owner)
for sql in ("CREATE TABLE mine (x int)", "DROP TABLE products", "SELECT * FROM schema_migrations"):
    try:
        c.execute(sql)
        print("allowed:", sql)
    except psycopg.errors.InsufficientPrivilege:
        pass
"""
    host.check_output(f"cat > /tmp/role-probe.py <<'EOF'\n{probe}EOF")
    out = host.check_output(f"set -a; . /etc/shoplab/shop.env; {VENV_PY} /tmp/role-probe.py")
    assert out == "shop_app shop"


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


def _show(host, unit: str, prop: str) -> str:
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def test_reaper_timer_enabled_and_waiting(host):
    timer = host.service("shop-reaper.timer")
    assert timer.is_enabled and timer.is_running
    assert _show(host, "shop-reaper.timer", "Unit") == "shop-reaper.service"
    monotonic = _show(host, "shop-reaper.timer", "TimersMonotonic")
    assert "OnBootUSec=1min" in monotonic and "OnUnitActiveUSec=1min" in monotonic
    assert _show(host, "shop-reaper.timer", "RandomizedDelayUSec") == "10s"


def test_reaper_runs_as_the_app_with_its_settings_and_sandbox(host):
    assert _show(host, "shop-reaper.service", "Type") == "oneshot"
    for prop in ("User", "Group", "EnvironmentFiles", "WorkingDirectory", "PrivateTmp",
                 "ProtectSystem", "ProtectHome", "NoNewPrivileges"):
        assert _show(host, "shop-reaper.service", prop) == _show(host, "shop-app.service", prop), prop
    assert _show(host, "shop-reaper.service", "UnsetEnvironment") == "PROMETHEUS_MULTIPROC_DIR"


def test_one_reaper_pass_completes(host):
    # a oneshot start returns when the pass has ended; Result is what the timer's runs record
    run = host.run("systemctl start shop-reaper.service")
    journal = host.run("journalctl -u shop-reaper.service -n 30 --no-pager").stdout
    assert run.rc == 0, run.stderr + journal
    assert _show(host, "shop-reaper.service", "Result") == "success", journal
    assert _show(host, "shop-reaper.service", "ExecMainStatus") == "0", journal
