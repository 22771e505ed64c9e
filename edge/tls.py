"""TLS at the public edge, one table for every stage and layer.

nginx (stage 1 and the lab's load balancer, roles/nginx via ansible/group_vars/all/edge.yml),
the ALB (stages 2-3, pulumi/shoplab_infra/load_balancer.py) and the Istio gateway (stage 4,
k8s/mesh.py) read these values; none writes its own.

* HTTP on port 80 only redirects to HTTPS (301, same host and path), except the ACME
  HTTP-01 challenge path that certbot's webroot mode answers on stage 1.
* HSTS on every HTTPS answer (never over HTTP, RFC 6797 7.2): a year, no preload (preload
  is a promise about every subdomain that an operator makes, not a default).
* Protocols and ciphers: Mozilla's "intermediate" profile (TLS 1.2 and 1.3, forward-secret
  AEAD suites only); the ALB's predefined policy of the same profile.
* Paths for inside the VPC only (the app's /metrics): the load balancer (the ALB, its lab
  stand-in) answers them itself with a 404 and never forwards them.
"""
from __future__ import annotations

import json

HSTS_MAX_AGE = 31_536_000
HSTS = f"max-age={HSTS_MAX_AGE}"
PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# Mozilla intermediate v5.7 (TLS 1.2 suites; TLS 1.3 suites are not configurable in nginx)
CIPHERS_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
)
# the ALB's policy with TLS 1.3 and 1.2, forward secrecy only (AWS ELB predefined policies)
ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/"
# ALB path patterns (case-sensitive): "/x" exactly, "/x/*" everything below it
INTERNAL_PATHS = ("/metrics", "/metrics/*")
# what the edge answers for them itself: a 404 with this error in the app's JSON envelope
INTERNAL_NOT_FOUND = {"code": "NOT_FOUND", "message": "Not found"}
INTERNAL_NOT_FOUND_BODY = json.dumps({"success": False, "error": INTERNAL_NOT_FOUND},
                                     separators=(",", ":"))
HTTP_PORT = 80
HTTPS_PORT = 443


def facts() -> dict:
    """Everything above as a dict (the Ansible filter ``shoplab_edge``)."""
    return {"hsts": HSTS, "hsts_max_age": HSTS_MAX_AGE, "protocols": list(PROTOCOLS),
            "ciphers_tls12": list(CIPHERS_TLS12), "alb_ssl_policy": ALB_SSL_POLICY,
            "acme_challenge_path": ACME_CHALLENGE_PATH, "http_port": HTTP_PORT,
            "https_port": HTTPS_PORT, "internal_paths": list(INTERNAL_PATHS),
            "internal_not_found": dict(INTERNAL_NOT_FOUND)}
