"""The postgresql role: server up with our settings, the shop's database and role, least privilege."""
import os

import pytest


@pytest.fixture(scope="module")
def password():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "shop_db_password")
    with open(path) as f:
        return f.read().split()[0]


def psql_super(host, sql):
    return host.check_output(f"runuser -u postgres -- psql -XAtc {sql!r}")


def test_packages(host):
    assert host.package("postgresql-15").is_installed
    assert host.package("python3-psycopg2").is_installed


def test_service(host):
    svc = host.service("postgresql@15-main")
    assert svc.is_running and svc.is_enabled


def test_listens_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening


def test_settings_from_variables(host):
    assert psql_super(host, "SHOW max_connections") == "60"
    assert psql_super(host, "SHOW random_page_cost") == "1.1"
    assert psql_super(host, "SHOW password_encryption") == "scram-sha-256"
    conf = host.file("/etc/postgresql/15/main/conf.d/60-shoplab.conf")
    assert conf.user == "postgres" and "Ansible managed" in conf.content_string


def test_shop_connects_with_password(host, password):
    out = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -U shop shop "
        "-c 'CREATE TABLE IF NOT EXISTS t (x int); SELECT current_user'")
    assert out == "CREATE TABLE\nshop" or out.endswith("shop")


def test_wrong_password_refused(host):
    r = host.run("PGPASSWORD=wrong psql -XAt -h 127.0.0.1 -U shop shop -c 'SELECT 1'")
    assert r.rc != 0 and "password authentication failed" in r.stderr


def test_public_cannot_connect(host):
    # a role without grants (created here) must be refused by the database's ACL
    psql_super(host, "DROP ROLE IF EXISTS intruder; CREATE ROLE intruder LOGIN PASSWORD 'x'")
    r = host.run("PGPASSWORD=x psql -XAt -h 127.0.0.1 -U intruder shop -c 'SELECT 1'")
    assert r.rc != 0
    assert psql_super(host, "SELECT has_database_privilege('intruder', 'shop', 'CONNECT')") == "f"


def test_role_setting_applies_to_sessions(host, password):
    out = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -U shop shop -c 'SHOW statement_timeout'")
    assert out == "5s"
