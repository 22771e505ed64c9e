"""Who may reach the shop's pods, and what they may reach: the stage-4 access contract.

* **Mesh mTLS is STRICT** in the shop's namespace (PeerAuthentication): a meshed pod accepts
  only mutual-TLS connections from other sidecars; plain TCP into it is refused. The kubelet's
  probes still pass (Istio rewrites HTTP probes to its agent on the pod), and so does
  Prometheus' scrape of the agent's merged metrics port (``MERGED_METRICS_PORT``, outside
  the mTLS listener).
* **Only the ingress gateway may call the shop** (AuthorizationPolicy, ALLOW): requests whose
  mTLS identity is the gateway's service account, on every path but ``edge.tls.INTERNAL_PATHS``
  (the gateway answers those itself, ``k8s.mesh.virtual_service``; the rule is the second
  line). Any other caller, in the mesh or not, gets 403 from the pod's sidecar.
* **Network policies** (enforced by k3s' embedded controller) say the same at layer 3/4 and
  bound the namespace's egress: everything in the namespace is denied by default; the shop's
  pods take connections from Istio's namespace only (the app's port and the
  merged metrics port); the shop's and the reaper's pods may open connections only to the
  cluster DNS, istiod, the data tier (``egress.data_cidrs`` on ``egress.data_ports``:
  PostgreSQL and Redis) and HTTPS (``egress.https_cidrs`` on 443: Stripe).
"""
from __future__ import annotations

from edge import tls
from k8s.naming import meta, part_of, selector

SECURITY_API = "security.istio.io/v1"
NETWORK_API = "networking.k8s.io/v1"
# istio-agent's port on every meshed pod: the app's metrics merged with Envoy's (Prometheus
# annotations below are rewritten to it), and the rewritten kubelet probes
MERGED_METRICS_PORT = 15020
ISTIOD_XDS_PORT = 15012           # the sidecar's configuration and certificates
DNS_PORT = 53
HTTPS_EGRESS_PORT = 443           # Stripe's API
TRUST_DOMAIN = "cluster.local"    # Istio's default; the principal below names it


def ingress_principal(values: dict) -> str:
    """The mTLS identity (SPIFFE) of the ingress gateway's pods."""
    return (f"{TRUST_DOMAIN}/ns/{values['istio_namespace']}"
            f"/sa/{values['ingress_service_account']}")


def peer_authentication(values: dict) -> dict:
    """Namespace-wide (the name ``default`` and no selector): every meshed pod of the shop."""
    return {"apiVersion": SECURITY_API, "kind": "PeerAuthentication",
            "metadata": meta(values, "default"),
            "spec": {"mtls": {"mode": "STRICT"}}}


def authorization_policy(values: dict) -> dict:
    return {"apiVersion": SECURITY_API, "kind": "AuthorizationPolicy",
            "metadata": meta(values),
            "spec": {"selector": {"matchLabels": selector(values)},
                     "action": "ALLOW",
                     "rules": [{"from": [{"source": {
                                    "principals": [ingress_principal(values)]}}],
                                # Istio's "/x" and "/x/*" mean what the ALB's do
                                "to": [{"operation": {
                                    "notPaths": list(tls.INTERNAL_PATHS)}}]}]}}


def _namespace_selector(namespace: str) -> dict:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _ports(numbers, *protocols: str) -> list[dict]:
    return [{"protocol": p, "port": n} for n in numbers for p in (protocols or ("TCP",))]


def default_deny(values: dict) -> dict:
    return {"apiVersion": NETWORK_API, "kind": "NetworkPolicy",
            "metadata": meta(values, f"{values['name']}-default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}


def ingress_policy(values: dict) -> dict:
    """The shop's pods: connections from Istio's namespace only (the ingress gateway to the
    app's port, the Prometheus addon to the merged metrics port)."""
    return {"apiVersion": NETWORK_API, "kind": "NetworkPolicy",
            "metadata": meta(values, f"{values['name']}-ingress"),
            "spec": {"podSelector": {"matchLabels": selector(values)},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"from": [_namespace_selector(values["istio_namespace"])],
                                  "ports": _ports([values["port"], MERGED_METRICS_PORT])}]}}


def egress_policy(values: dict) -> dict:
    """Every pod of the shop, the app's and the reaper's."""
    egress = values["egress"]
    return {"apiVersion": NETWORK_API, "kind": "NetworkPolicy",
            "metadata": meta(values, f"{values['name']}-egress"),
            "spec": {"podSelector": {"matchLabels": part_of(values)},
                     "policyTypes": ["Egress"],
                     "egress": [
                         {"to": [_namespace_selector("kube-system")],
                          "ports": _ports([DNS_PORT], "UDP", "TCP")},
                         {"to": [_namespace_selector(values["istio_namespace"])],
                          "ports": _ports([ISTIOD_XDS_PORT])},
                         {"to": [{"ipBlock": {"cidr": c}} for c in egress["data_cidrs"]],
                          "ports": _ports(egress["data_ports"])},
                         {"to": [{"ipBlock": {"cidr": c}} for c in egress["https_cidrs"]],
                          "ports": _ports([HTTPS_EGRESS_PORT])}]}}


def access_objects(values: dict) -> list[dict]:
    return [peer_authentication(values), authorization_policy(values),
            default_deny(values), ingress_policy(values), egress_policy(values)]
