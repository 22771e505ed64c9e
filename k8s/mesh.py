"""The shop's Istio objects, with limits derived from the app's own pool settings.

Why derived: each gunicorn worker holds at most DB_POOL_MAX_SIZE connections and queues at
most DB_POOL_MAX_WAITING requests for one (see app/settings.py). The ingress Envoy should
let through no more requests than the pods can give a connection to, and queue no more than
the app would queue itself; beyond that it answers 503 at once instead of piling up work.
The HPA ceiling (max_replicas) is used, so scale-up is never throttled by the mesh; the
database budget must hold the same product (the DB role asserts it for its hosts).
"""
from __future__ import annotations

import math

from edge import tls
from k8s.app_env import app_config
from k8s.naming import meta, service_host

API = "networking.istio.io/v1"


def pool_budget(values: dict) -> dict:
    """Connections and queue the whole Deployment can hold at its largest."""
    settings = app_config(values)
    processes = values["max_replicas"] * values["gunicorn"]["workers"]
    return {"connections": processes * int(settings["DB_POOL_MAX_SIZE"]),
            "waiting": processes * int(settings["DB_POOL_MAX_WAITING"])}


def request_timeout_seconds(values: dict) -> int:
    """Longer than the app's own worst case (wait for a connection, then a statement limit),
    so the app answers with its own 503/504 envelope before Envoy cuts the request."""
    settings = app_config(values)
    app_worst = float(settings["DB_POOL_TIMEOUT"]) + int(settings["DB_STATEMENT_TIMEOUT_MS"]) / 1000
    return math.ceil(app_worst) + 3


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _istio_tls_version(protocol: str) -> str:
    """edge.tls's "TLSv1.2" as Istio's ServerTLSSettings enum "TLSV1_2"."""
    return protocol.upper().replace(".", "_")


def gateway(values: dict) -> dict:
    """HTTPS on 443 with the edge's protocols and ciphers, the certificate from the TLS Secret
    ``tls_secret_name`` in the ingress gateway's namespace (the istio role creates it); HTTP on
    80 only answers 301 to the same URL over HTTPS."""
    hosts = list(values["gateway_hosts"])
    return {"apiVersion": API, "kind": "Gateway", "metadata": meta(values),
            "spec": {"selector": dict(values["ingress_selector"]), "servers": [
                {"port": {"number": tls.HTTP_PORT, "name": "http", "protocol": "HTTP"},
                 "hosts": hosts, "tls": {"httpsRedirect": True}},
                {"port": {"number": tls.HTTPS_PORT, "name": "https", "protocol": "HTTPS"},
                 "hosts": list(hosts),
                 "tls": {"mode": "SIMPLE", "credentialName": values["tls_secret_name"],
                         "minProtocolVersion": _istio_tls_version(min(tls.PROTOCOLS)),
                         "maxProtocolVersion": _istio_tls_version(max(tls.PROTOCOLS)),
                         # TLS 1.3's suites are not configurable in Envoy (all of them are AEAD)
                         "cipherSuites": list(tls.CIPHERS_TLS12)}}]}}


def _uri_match(pattern: str) -> dict:
    """An edge.tls path pattern ("/x" exactly, "/x/*" everything below it) as a URI match."""
    if pattern.endswith("/*"):
        return {"uri": {"prefix": pattern[:-1]}}
    return {"uri": {"exact": pattern}}


def internal_route() -> dict:
    """The paths for inside the cluster only (edge.tls.INTERNAL_PATHS, the app's /metrics):
    the gateway answers them itself, as the ALB does, and never forwards them."""
    return {"name": "internal",
            "match": [_uri_match(p) for p in tls.INTERNAL_PATHS],
            "directResponse": {"status": 404, "body": {"string": tls.INTERNAL_NOT_FOUND_BODY}},
            "headers": {"response": {"set": {"Strict-Transport-Security": tls.HSTS,
                                             "Content-Type": "application/json",
                                             "Cache-Control": "no-store"}}}}


def virtual_service(values: dict) -> dict:
    timeout = request_timeout_seconds(values)
    return {"apiVersion": API, "kind": "VirtualService", "metadata": meta(values),
            "spec": {"hosts": list(values["gateway_hosts"]),
                     "gateways": [values["name"]],
                     "http": [internal_route(), {
                         "name": "shop",
                         "route": [{"destination": {"host": service_host(values),
                                                    "port": {"number": values["service_port"]}}}],
                         "timeout": _seconds(timeout),
                         # HSTS on every answer of this route. It is only reached over HTTPS:
                         # the HTTP server's httpsRedirect answers every request with the 301
                         # before routing (Envoy's require_tls), so HSTS never goes out over HTTP
                         "headers": {"response": {"set": {"Strict-Transport-Security": tls.HSTS}}},
                         # only failures where the pod never saw the request: retrying a POST
                         # /api/orders after a 5xx could place the order twice
                         "retries": {"attempts": 2, "perTryTimeout": _seconds(timeout),
                                     "retryOn": "connect-failure,refused-stream"}}]}}


def destination_rule(values: dict) -> dict:
    budget = pool_budget(values)
    readiness = float(app_config(values)["READINESS_INTERVAL"])
    return {"apiVersion": API, "kind": "DestinationRule", "metadata": meta(values),
            "spec": {"host": service_host(values), "trafficPolicy": {
                # a worker whose threads are all busy should not get the next request
                "loadBalancer": {"simple": "LEAST_REQUEST"},
                "connectionPool": {
                    "tcp": {"maxConnections": budget["connections"], "connectTimeout": "2s"},
                    "http": {"http1MaxPendingRequests": budget["waiting"],
                             "http2MaxRequests": budget["connections"],
                             "maxRequestsPerConnection": values["max_requests_per_connection"]}},
                # eject a pod that keeps failing at the gateway level (dead, or not answering),
                # checked on the readiness probe's time scale; never more than half of them
                "outlierDetection": {"consecutiveGatewayErrors": 5,
                                     "interval": _seconds(readiness),
                                     "baseEjectionTime": "30s",
                                     "maxEjectionPercent": 50}}}}
