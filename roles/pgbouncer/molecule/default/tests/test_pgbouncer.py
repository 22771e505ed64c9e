"""The pgbouncer role: transaction pooling in front of the real Postgres, SCRAM auth, stats."""
import os

import pytest


@pytest.fixture(scope="module")
def password():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "shop_db_password")
    with open(path) as f:
        return f.read().split()[0]


def test_package_and_service(host):
    assert host.package("pgbouncer").is_installed
    svc = host.service("pgbouncer")
    assert svc.is_running and svc.is_enabled


def test_listening(host):
    assert host.socket("tcp://0.0.0.0:6432").is_listening


def test_auth_file_private(host, password):
    f = host.file("/etc/pgbouncer/userlist.txt")
    assert (f.user, f.mode) == ("postgres", 0o600)
    assert f'"shop" "{password}"' in f.content_string


def test_settings(host):
    ini = host.file("/etc/pgbouncer/pgbouncer.ini").content_string
    assert "pool_mode = transaction" in ini and "default_pool_size = 4" in ini
    limit = host.check_output("systemctl show -p LimitNOFILE --value pgbouncer")
    assert limit == "8192"


def test_query_through_pgbouncer(host, password):
    out = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -p 6432 -U shop shop "
        "-c 'SELECT current_user, inet_server_port()'")
    assert out == "shop|5432"


def test_wrong_password_refused(host):
    r = host.run("PGPASSWORD=nope psql -XAt -h 127.0.0.1 -p 6432 -U shop shop -c 'SELECT 1'")
    assert r.rc != 0


def test_stats_reachable(host, password):
    pools = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -p 6432 -U shop pgbouncer -c 'SHOW POOLS'")
    assert any(line.startswith("shop|shop|") for line in pools.splitlines())
    config = host.check_output(
        f"PGPASSWORD={password} psql -XAt -h 127.0.0.1 -p 6432 -U shop pgbouncer -c 'SHOW CONFIG'")
    assert "pool_mode|transaction" in config
