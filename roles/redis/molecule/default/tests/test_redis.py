"""The redis role: TLS only, password, protected mode, memory cap, persistence, a real client."""
import os

import pytest

# redis-cli over TLS, trusting the scenario's lab CA only (prepare.yml)
TLS = "redis-cli --tls --cacert /etc/ssl/lab-ca.crt"


@pytest.fixture(scope="module")
def password():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "redis_password")
    with open(path) as f:
        return f.read().split()[0]


@pytest.fixture(scope="module")
def cli(host, password):
    return lambda cmd: host.check_output(f"REDISCLI_AUTH={password} {TLS} --no-raw {cmd}")


def test_package_and_service(host):
    assert host.package("redis-server").is_installed
    svc = host.service("redis-server")
    assert svc.is_running and svc.is_enabled


def test_listening(host):
    assert host.socket("tcp://0.0.0.0:6379").is_listening


def test_config_and_key_private(host):
    f = host.file("/etc/redis/redis.conf")
    assert (f.user, f.mode) == ("redis", 0o640)
    key = host.file("/etc/redis/tls/server.key")
    assert (key.user, key.mode) == ("redis", 0o600)


def test_password_required(host):
    out = host.check_output(f"{TLS} SET k v")
    assert "NOAUTH" in out


def test_tls_only(host, cli, password):
    assert cli("PING") == "PONG"
    # with the password, so that any connection that works answers PONG: plain TCP (Redis
    # waits for a TLS handshake that never comes), and a client that does not trust the
    # server's issuer (the server's own leaf, not a CA, as its trust store)
    for client in ("redis-cli", "redis-cli --tls --cacert /etc/redis/tls/server.crt"):
        out = host.run(f"REDISCLI_AUTH={password} timeout 5 {client} PING")
        assert "PONG" not in out.stdout, client
    assert '"TLSv1.2 TLSv1.3"' in cli("CONFIG GET tls-protocols")
    assert '"0"' in cli("CONFIG GET port")


def test_settings(host, cli):
    assert '"volatile-lru"' in cli("CONFIG GET maxmemory-policy")
    assert '"67108864"' in cli("CONFIG GET maxmemory")
    assert '"yes"' in cli("CONFIG GET protected-mode")
    assert '"yes"' in cli("CONFIG GET appendonly")


def test_write_persists(host, cli):
    assert cli("SET shoplab:probe 42 EX 600") == "OK"
    assert cli("GET shoplab:probe") == '"42"'
    assert cli("BGREWRITEAOF")
    assert host.file("/var/lib/redis/appendonlydir").is_directory
