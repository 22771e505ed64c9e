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


def test_other_login_roles_pass_pg_hba_and_connect_once_the_owner_grants_it(host, password):
    """Each of postgresql_users from loopback; the database's CONNECT is the owner's to give."""
    login = f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -U shop_app shop -c 'SELECT current_user'"
    psql_super(host, "DROP OWNED BY shop_app")      # idempotent: the test's own grant, if any
    refused = host.run(login)
    assert refused.rc != 0 and "permission denied for database" in refused.stderr, refused.stderr
    host.check_output(f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -U shop shop "
                      "-c 'GRANT CONNECT ON DATABASE shop TO shop_app'")
    assert host.check_output(login) == "shop_app"
    psql_super(host, "DROP OWNED BY shop_app")


def test_role_setting_applies_to_sessions(host, password):
    out = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -U shop shop -c 'SHOW statement_timeout'")
    assert out == "5s"


def test_tls_with_the_given_certificate_verified_against_the_lab_ca(host, password):
    """libpq's verify-full (what the lab's app uses): the chain to the lab CA and the name."""
    out = host.check_output(
        f"PGPASSWORD={password} psql -XAt 'host=localhost dbname=shop user=shop "
        "sslmode=verify-full sslrootcert=/etc/ssl/lab-ca.crt' "
        "-c 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'")
    ssl, version = out.split("|")
    assert ssl == "t" and version in ("TLSv1.2", "TLSv1.3")
    assert psql_super(host, "SHOW ssl_min_protocol_version") == "TLSv1.2"
    key = host.file("/etc/postgresql/15/main/tls/server.key")
    assert key.user == "postgres" and key.mode == 0o600


def test_a_name_the_certificate_does_not_carry_is_refused(host, password):
    """Same server and CA, but reached under the container's own name, which the certificate
    does not carry: verify-full refuses it."""
    name = host.check_output("hostname")
    r = host.run(f"PGPASSWORD={password} psql -XAt 'host={name} hostaddr=127.0.0.1 "
                 "dbname=shop user=shop sslmode=verify-full sslrootcert=/etc/ssl/lab-ca.crt' "
                 "-c 'SELECT 1'")
    assert r.rc != 0 and "does not match host name" in r.stderr


def test_tcp_rules_beyond_loopback_require_tls(host):
    hba = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    assert "hostssl    shop    shop    10.0.0.0/8    scram-sha-256" in hba
