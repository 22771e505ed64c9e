"""Redis over TLS, as on lab stage 2 and ElastiCache: the redis role's own redis.conf with a
certificate of a lab CA (tools/devstack.py, redis_tls), and the app verifying it
(REDIS_URL rediss://, REDIS_CA_FILE). A client that cannot verify the server gets no cart."""
import shutil
import tempfile
from pathlib import Path

import pytest
import redis as redis_lib
from devstack import Stack, free_ports

from app import create_app
from edge import lab
from app.cart import make_redis
from conftest import Api, settings_for


@pytest.fixture(scope="module")
def tls_redis():
    """Redis alone, TLS only, on a port of its own; its Stack says the URL and the CA."""
    state = Path(tempfile.mkdtemp(prefix="shoplab-redis-tls-"))
    s = Stack(state, free_ports(), redis_tls=True)
    try:
        lab.make_ca(state / "ca")
        s.start_redis()
        yield s
    finally:
        s.down()
        shutil.rmtree(state, ignore_errors=True)


def test_cart_over_verified_tls(stack, tls_redis, make_product):
    settings = settings_for(stack, redis_url=tls_redis.redis_url, redis_ca_file=tls_redis.ca_file)
    assert settings.redis_url.startswith("rediss://127.0.0.1:")
    app = create_app(settings)
    try:
        api = Api(app, "pgbouncer")
        user_id, token = api.register()
        pid = make_product(stock=3)
        assert api.post("/api/cart", token=token, json={"product_id": pid, "quantity": 2}
                        ).status_code == 200
        assert [(i["product_id"], i["quantity"])
                for i in api.get("/api/cart", token=token).json["data"]["items"]] == [(pid, 2)]
    finally:
        app.close()
    # the cart is in the TLS Redis, read back by a client verifying it the same way
    client = make_redis(settings)
    assert client.hget(f"cart:{user_id}", str(pid)) == "2"
    assert client.connection_pool.connection_class is redis_lib.SSLConnection


def test_plain_tcp_gets_no_answer(tls_redis):
    port = tls_redis.ports["redis"]
    plain = redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                            socket_connect_timeout=2)
    with pytest.raises(redis_lib.ConnectionError):
        plain.ping()


@pytest.mark.parametrize("url_host,trust_lab_ca,why", [
    ("127.0.0.1", False, "certificate verify failed"),   # the system's trust store only
    ("[::1]", True, "mismatch"),                         # the certificate does not name ::1
])
def test_a_server_the_client_cannot_verify_is_refused(tls_redis, url_host, trust_lab_ca, why):
    url = tls_redis.redis_url.replace("127.0.0.1", url_host)
    client = make_redis(settings_for(tls_redis, redis_url=url,
                                     redis_ca_file=tls_redis.ca_file if trust_lab_ca else ""))
    with pytest.raises(redis_lib.ConnectionError, match=why):
        client.ping()


def test_a_ca_file_without_tls_is_refused(stack):
    settings = settings_for(stack, redis_ca_file="/etc/ssl/certs/ca-certificates.crt")
    assert settings.redis_url.startswith("redis://")
    with pytest.raises(ValueError, match="REDIS_CA_FILE is set but REDIS_URL is not rediss://"):
        make_redis(settings)
