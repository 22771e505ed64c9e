"""Security groups and public addresses: what the internet may reach.

"Open to the internet" is internet_cidrs.open_to_internet (a /8's worth of public IPv4 or a
/32's worth of global IPv6, the rule's CIDRs taken together). The stack rules find "the load
balancer's group" the way the engine records it: the load balancer's `securityGroups`
property depends on the group's resource (`property_dependencies`), with the literal group
ids as a fallback for groups created elsewhere."""
from __future__ import annotations

from internet_cidrs import open_to_internet
from resource_reading import dependencies, dig, items, known, truthy

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCERS = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
# Ports that are never for the whole internet: SSH, PostgreSQL, Redis, the Kubernetes API.
ADMIN_PORTS = {22: "ssh", 5432: "postgres", 6379: "redis", 6443: "kubernetes api"}
WEB_PORTS = (80, 443)
# where each kind of ECS task keeps its awsvpc network configuration
TASK_NETWORKS = {
    "aws:ecs/service:Service": ("networkConfiguration",),
    "aws:ecs/taskSet:TaskSet": ("networkConfiguration",),
    "aws:cloudwatch/eventTarget:EventTarget": ("ecsTarget", "networkConfiguration"),
    "aws:scheduler/schedule:Schedule": ("target", "ecsParameters", "networkConfiguration"),
}


def ingress_rules(resource_type: str, props) -> list[dict]:
    """Every ingress rule of a resource, as {fromPort, toPort, protocol, cidrs}."""
    if resource_type == SG:
        return [{"fromPort": r.get("fromPort"), "toPort": r.get("toPort"),
                 "protocol": r.get("protocol"),
                 "cidrs": items(r.get("cidrBlocks")) + items(r.get("ipv6CidrBlocks"))}
                for r in items(props.get("ingress"))]
    if resource_type == SG_RULE and props.get("type") == "ingress":
        return [{"fromPort": props.get("fromPort"), "toPort": props.get("toPort"),
                 "protocol": props.get("protocol"),
                 "cidrs": items(props.get("cidrBlocks")) + items(props.get("ipv6CidrBlocks"))}]
    if resource_type == SG_INGRESS:
        return [{"fromPort": props.get("fromPort"), "toPort": props.get("toPort"),
                 "protocol": props.get("ipProtocol"),
                 "cidrs": [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]}]
    return []


def _all_traffic(rule: dict) -> bool:
    return str(rule.get("protocol")).lower() in ("-1", "all")


def _covers(rule: dict, port: int) -> bool:
    if _all_traffic(rule):
        return True
    low, high = rule.get("fromPort"), rule.get("toPort")
    if low is None or high is None:
        return False
    return int(low) <= port <= int(high)


def _ports(rule: dict) -> str:
    if _all_traffic(rule):
        return "all traffic"
    low, high = int(rule.get("fromPort") or 0), int(rule.get("toPort") or 0)
    return f"{rule.get('protocol')} {low}" + (f"-{high}" if high != low else "")


def no_admin_ports_from_internet(args, report_violation):
    for rule in ingress_rules(args.resource_type, args.props):
        if not open_to_internet(rule["cidrs"]):
            continue
        for port, what in ADMIN_PORTS.items():
            if _covers(rule, port):
                report_violation(f"{what} ({port}) is open to {rule['cidrs']}: allow it only "
                                 "from admin CIDRs or from the tier in front")


def internet_ingress_only_http_https(args, report_violation):
    for rule in ingress_rules(args.resource_type, args.props):
        if not open_to_internet(rule["cidrs"]):
            continue
        web = (str(rule.get("protocol")).lower() in ("tcp", "6")
               and rule.get("fromPort") is not None and rule.get("fromPort") == rule.get("toPort")
               and int(rule["fromPort"]) in WEB_PORTS)
        if not web:
            report_violation(f"{_ports(rule)} is open to the internet ({rule['cidrs']}): only "
                             "tcp 80 and tcp 443, each on its own, may be")


def _load_balancer_groups(resources) -> tuple[set, set]:
    """(URNs, literal ids) of the security groups the stack's load balancers use."""
    urns, ids = set(), set()
    for r in resources:
        if r.resource_type not in LOAD_BALANCERS:
            continue
        urns |= {d.urn for d in dependencies(r, "securityGroups") if d.resource_type == SG}
        literal = known(lambda r=r: [g for g in items(r.props.get("securityGroups"))], [])
        ids |= {g for g in literal if isinstance(g, str)}
    return urns, ids


def internet_ingress_only_on_load_balancer(args, report_violation):
    lb_urns, lb_ids = _load_balancer_groups(args.resources)
    for r in args.resources:
        if r.resource_type == SG:
            on_lb = r.urn in lb_urns
        elif r.resource_type in (SG_RULE, SG_INGRESS):
            owner = known(lambda r=r: r.props.get("securityGroupId"), None)
            on_lb = (any(d.urn in lb_urns for d in dependencies(r, "securityGroupId"))
                     or (isinstance(owner, str) and owner in lb_ids))
        else:
            continue
        if on_lb:
            continue
        for rule in ingress_rules(r.resource_type, r.props):
            if open_to_internet(rule["cidrs"]):
                report_violation(f"{r.name}: {_ports(rule)} is open to the internet on a group "
                                 "no load balancer uses: admit the load balancer's group instead",
                                 r.urn)


def ec2_no_public_ip_behind_load_balancer(args, report_violation):
    fronts = [r for r in args.resources if r.resource_type in LOAD_BALANCERS
              and not truthy(known(lambda r=r: r.props.get("internal"), False))]
    if not fronts:
        return          # no load balancer: a host is the entry point and needs an address
    lb = fronts[0].name
    for r in args.resources:
        why = None
        if r.resource_type == INSTANCE:
            public = r.props.get("associatePublicIpAddress")
            if public is None:      # the subnet decides
                public = any(truthy(s.props.get("mapPublicIpOnLaunch"))
                             for s in dependencies(r, "subnetId") if s.resource_type == SUBNET)
            if truthy(public):
                why = "gets a public IPv4 address"
        elif r.resource_type == EIP and known(lambda r=r: r.props.get("instance")) is not None:
            why = "attaches an Elastic IP to an instance"
        elif (r.resource_type == EIP_ASSOCIATION
              and known(lambda r=r: r.props.get("instanceId")) is not None):
            why = "associates an Elastic IP with an instance"
        if why:
            report_violation(f"{r.name} {why} although {lb} fronts the stack: reach the hosts "
                             "through the load balancer (and a NAT gateway or VPC endpoints "
                             "for their own traffic)", r.urn)


def ecs_tasks_no_public_ip(args, report_violation):
    path = TASK_NETWORKS.get(args.resource_type)
    if path is None:
        return
    network = dig(args.props, *path)
    if network is not None and truthy(network.get("assignPublicIp")):
        report_violation(f"{'.'.join(path)}.assignPublicIp is true: run tasks in private "
                         "subnets (NAT gateway or VPC endpoints for ECR, Secrets Manager, logs)")
