"""The load balancer's edge: its listeners (HTTP only redirects, HTTPS with a certificate, a
modern TLS policy and HSTS, every internet-facing ALB serving HTTPS) and its target groups'
health checks."""
from __future__ import annotations

import re

from resource_reading import dependencies, items, known, truthy

LOAD_BALANCERS = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
LISTENERS = {"aws:lb/listener:Listener", "aws:alb/listener:Listener"}
TARGET_GROUPS = {"aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"}
# TLS 1.2 or 1.3 as the minimum and forward-secret key exchange only: the TLS13-1-2 / TLS13-1-3
# families (plain, -Res, -FIPS, -PQ) and FS-1-2. Not the Ext1/Ext2 variants, TLS-1-2-2017-01
# (RSA key exchange) or anything admitting TLS 1.0/1.1 (2016-08, TLS13-1-0, TLS13-1-1, FS-1-1).
MODERN_TLS = re.compile(
    r"^ELBSecurityPolicy-(TLS13-1-[23](-Res)?(-FIPS)?(-PQ)?|FS-1-2(-Res)?)-20\d\d-\d\d$")
# HSTS for at least a year: browsers then keep to HTTPS between visits (a test holds
# edge/tls.py's HSTS, what the stacks send, to this rule)
MIN_HSTS_MAX_AGE = 365 * 24 * 3600
_MAX_AGE = re.compile(r"(?:^|;)\s*max-age=(\d+)\s*(?:;|$)", re.IGNORECASE)


def _protocol(props) -> str:
    # an ALB listener without a protocol is HTTP
    return str(props.get("protocol") or "HTTP").upper()


def alb_http_redirects_to_https(args, report_violation):
    if args.resource_type not in LISTENERS or _protocol(args.props) != "HTTP":
        return
    actions = items(args.props.get("defaultActions"))
    if len(actions) != 1:
        report_violation(f"HTTP listener has {len(actions)} default actions: give it exactly "
                         "one, a redirect to HTTPS on 443")
        return
    action = actions[0]
    redirect = action.get("redirect") or {}
    if action.get("type") != "redirect" or str(redirect.get("protocol")).upper() != "HTTPS":
        report_violation(f"HTTP listener's default action is {action.get('type')!r}: it must "
                         "redirect to HTTPS, not serve the shop in plain text")
    elif str(redirect.get("port") or "#{port}") != "443":
        report_violation(f"HTTP listener redirects to HTTPS on port {redirect.get('port')!r}: "
                         "the original port (80) does not speak TLS; redirect to 443")


def alb_https_tls_policy(args, report_violation):
    if args.resource_type not in LISTENERS or _protocol(args.props) != "HTTPS":
        return
    policy = args.props.get("sslPolicy")
    if not policy or not MODERN_TLS.match(str(policy)):
        report_violation(f"HTTPS listener's sslPolicy {policy!r} is not a TLS 1.2+ "
                         "forward-secret policy: use ELBSecurityPolicy-TLS13-1-2-2021-06")
    if not args.props.get("certificateArn"):
        report_violation("HTTPS listener has no certificateArn (an ACM certificate)")


def alb_https_hsts(args, report_violation):
    if args.resource_type not in LISTENERS or _protocol(args.props) != "HTTPS":
        return
    value = args.props.get("routingHttpResponseStrictTransportSecurityHeaderValue")
    age = _MAX_AGE.search(str(value or ""))
    if not age or int(age.group(1)) < MIN_HSTS_MAX_AGE:
        report_violation(f"HTTPS listener's Strict-Transport-Security is {value!r}: send "
                         f"max-age={MIN_HSTS_MAX_AGE} or more "
                         "(routingHttpResponseStrictTransportSecurityHeaderValue)")


def alb_serves_https(args, report_violation):
    """Stack rule: an HTTPS listener depends on the ALB through its `loadBalancerArn`."""
    served = {lb.urn for r in args.resources
              if r.resource_type in LISTENERS and _protocol(r.props) == "HTTPS"
              for lb in dependencies(r, "loadBalancerArn")}
    for r in args.resources:
        if (r.resource_type in LOAD_BALANCERS and r.urn not in served
                and str(r.props.get("loadBalancerType") or "application") == "application"
                and not truthy(known(lambda r=r: r.props.get("internal"), False))):
            report_violation(f"{r.name} is internet-facing without an HTTPS listener: add one "
                             "on 443 with a certificate (HTTP only redirects to it)", r.urn)


def health_check_cheap_and_slow(args, report_violation):
    """Health checks hit /healthz or /readyz no more often than every 15 s: the reference's
    5 s probes of a DB-backed path took a fifth of its connection pool."""
    if args.resource_type not in TARGET_GROUPS:
        return
    check = args.props.get("healthCheck") or {}
    if check.get("path") not in ("/healthz", "/readyz"):
        report_violation(f"health check path {check.get('path')!r}: use /healthz or /readyz")
    if float(check.get("interval") or 30) < 15:
        report_violation(f"health check every {check.get('interval')} s: at least 15 s")
