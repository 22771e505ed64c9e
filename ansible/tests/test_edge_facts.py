"""edge/tls.py is the one table of the edge's TLS facts: ansible/group_vars/all/edge.yml feeds
every inventory from it, and the nginx role's own defaults (for plays without that file, such
as its molecule scenario) must say the same."""
from pathlib import Path

import yaml

from edge import lab, tls

ROOT = Path(__file__).resolve().parents[2]


def test_nginx_role_defaults_are_the_edge_table():
    d = yaml.safe_load((ROOT / "roles/nginx/defaults/main.yml").read_text())
    assert d["nginx_tls_protocols"] == list(tls.PROTOCOLS)
    assert d["nginx_tls_ciphers"] == list(tls.CIPHERS_TLS12)
    assert d["nginx_hsts"] == tls.HSTS
    assert d["nginx_acme_challenge_path"] == tls.ACME_CHALLENGE_PATH
    assert d["nginx_tls_listen_port"] == d["nginx_tls_redirect_port"] == tls.HTTPS_PORT


def test_haproxy_role_defaults_are_the_edge_table():
    # the ALB's lab stand-in (roles/haproxy) gets these from group_vars/all/alb.yml; its own
    # defaults (its molecule scenario) must say the same
    d = yaml.safe_load((ROOT / "roles/haproxy/defaults/main.yml").read_text())
    assert d["haproxy_tls_min_version"] == tls.PROTOCOLS[0]
    assert d["haproxy_tls_ciphers"] == list(tls.CIPHERS_TLS12)
    assert d["haproxy_hsts"] == tls.HSTS
    assert d["haproxy_internal_paths"] == list(tls.INTERNAL_PATHS)
    assert d["haproxy_internal_not_found"] == tls.INTERNAL_NOT_FOUND
    assert (d["haproxy_http_port"], d["haproxy_https_port"]) == (tls.HTTP_PORT, tls.HTTPS_PORT)
    g = yaml.safe_load((ROOT / "ansible/group_vars/all/alb.yml").read_text())
    assert g["haproxy_internal_paths"] == "{{ shoplab_edge.internal_paths }}"
    assert g["haproxy_internal_not_found"] == "{{ shoplab_edge.internal_not_found }}"


def test_group_vars_read_the_table_not_literals():
    g = yaml.safe_load((ROOT / "ansible/group_vars/all/edge.yml").read_text())
    assert g["shoplab_edge"] == "{{ none | shoplab_edge }}"
    assert all("shoplab_edge." in v for k, v in g.items() if k.startswith("nginx_"))


def test_lab_ports_per_stage():
    assert lab.ports(1) == {"http": 8081, "https": 8441, "prometheus": 9091}
    assert lab.ports("2-one-app-host") == lab.ports(2)
    assert lab.url(3) == "https://127.0.0.1:8443"
