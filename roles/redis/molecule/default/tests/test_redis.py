"""The redis role: password, protected mode, memory cap, persistence, a real client."""
import os

import pytest


@pytest.fixture(scope="module")
def cli(host):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "redis_password")
    with open(path) as f:
        password = f.read().split()[0]
    return lambda cmd: host.check_output(f"REDISCLI_AUTH={password} redis-cli --no-raw {cmd}")


def test_package_and_service(host):
    assert host.package("redis-server").is_installed
    svc = host.service("redis-server")
    assert svc.is_running and svc.is_enabled


def test_listening(host):
    assert host.socket("tcp://0.0.0.0:6379").is_listening


def test_config_file_private(host):
    f = host.file("/etc/redis/redis.conf")
    assert (f.user, f.mode) == ("redis", 0o640)


def test_password_required(host):
    out = host.check_output("redis-cli SET k v")
    assert "NOAUTH" in out


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
