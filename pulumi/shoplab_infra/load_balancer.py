"""LoadBalancer: an internet-facing ALB, its security group (80 and 443 from the web), one
target group with the health check, the HTTPS listener forwarding to it (edge/tls.py's policy
and HSTS, the certificate of certificate.py) and the HTTP listener, which only redirects to
HTTPS; /metrics is answered by the ALB itself (404), never forwarded. Targets register
themselves (AppHosts, or the ECS service), so the load balancer exists before the tier behind
it."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from edge import tls
from shoplab_infra import firewall
from shoplab_infra.certificate import TlsSpec, listener_certificate
from shoplab_infra.tagging import tags

@dataclass
class LoadBalancerArgs:
    stage: str
    vpc_id: pulumi.Input[str]
    subnet_ids: list
    web_cidrs: list[str]
    http_port: int
    https_port: int
    tls: TlsSpec
    target_port: int
    target_type: str                 # "instance" (stage 2) or "ip" (Fargate)
    health_check_path: str
    health_check_interval: int
    health_check_timeout: int
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay: int


class LoadBalancer(pulumi.ComponentResource):
    def __init__(self, name: str, args: LoadBalancerArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.health_check_timeout >= args.health_check_interval:
            raise ValueError("healthCheckTimeout must be shorter than healthCheckInterval")
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", description=f"shoplab {args.stage} load balancer", vpc_id=args.vpc_id,
            ingress=[firewall.from_cidrs(args.http_port, args.web_cidrs, "http from the web"),
                     firewall.from_cidrs(args.https_port, args.web_cidrs, "https from the web")],
            egress=firewall.ALL_EGRESS, tags=tags(args.stage, f"{name}-sg"), opts=child)
        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False,
            subnets=args.subnet_ids, security_groups=[self.security_group.id],
            drop_invalid_header_fields=True, idle_timeout=60,
            tags=tags(args.stage, f"{name}-alb"), opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", vpc_id=args.vpc_id, port=args.target_port, protocol="HTTP",
            target_type=args.target_type, deregistration_delay=args.deregistration_delay,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, path=args.health_check_path, port="traffic-port",
                protocol="HTTP", matcher="200", interval=args.health_check_interval,
                timeout=args.health_check_timeout, healthy_threshold=args.healthy_threshold,
                unhealthy_threshold=args.unhealthy_threshold),
            tags=tags(args.stage, f"{name}-tg"), opts=child)
        self.certificate = listener_certificate(name, args.tls, args.stage, child)
        self.https_listener = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.alb.arn, port=args.https_port,
            protocol="HTTPS", ssl_policy=tls.ALB_SSL_POLICY,
            certificate_arn=self.certificate.arn,
            routing_http_response_strict_transport_security_header_value=tls.HSTS,
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=self.target_group.arn)],
            tags=tags(args.stage, f"{name}-https"), opts=child)
        # the app's /metrics is for a Prometheus inside the VPC: the ALB answers it itself,
        # before any target sees it, in the app's error envelope (app/errors.py)
        self.metrics_rule = aws.lb.ListenerRule(
            f"{name}-no-public-metrics", listener_arn=self.https_listener.arn, priority=1,
            conditions=[aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(
                    values=list(tls.INTERNAL_PATHS)))],
            actions=[aws.lb.ListenerRuleActionArgs(
                type="fixed-response", fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                    content_type="application/json", status_code="404",
                    message_body=tls.INTERNAL_NOT_FOUND_BODY))],
            tags=tags(args.stage, f"{name}-no-public-metrics"), opts=child)
        # the redirect keeps host, path and query (the provider's defaults #{host} etc.)
        self.http_listener = aws.lb.Listener(
            f"{name}-http", load_balancer_arn=self.alb.arn, port=args.http_port,
            protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port=str(args.https_port), status_code="HTTP_301"))],
            tags=tags(args.stage, f"{name}-http"), opts=child)
        self.dns_name = self.alb.dns_name
        self.url = args.tls.url(self.dns_name)
        self.security_group_id = self.security_group.id
        self.target_group_arn = self.target_group.arn
        # "app/<lb>/<id>/targetgroup/<tg>/<id>": the label ALBRequestCountPerTarget scales on
        self.request_count_label = pulumi.Output.format(
            "{0}/{1}", self.alb.arn_suffix, self.target_group.arn_suffix)
        self.register_outputs({"dns_name": self.dns_name,
                               "security_group_id": self.security_group_id,
                               "target_group_arn": self.target_group_arn})
