"""Tags for the bill: every resource that carries cost or data says whose it is."""
from __future__ import annotations

REQUIRED_TAGS = ("Project", "Stage", "ManagedBy")
TAGGED_TYPES = {
    "aws:ec2/instance:Instance", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet",
    "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/eip:Eip", "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup", "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecr/repository:Repository", "aws:cloudwatch/logGroup:LogGroup",
    "aws:secretsmanager/secret:Secret",
}


def required_tags(args, report_violation):
    if args.resource_type not in TAGGED_TYPES:
        return
    tags = args.props.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    if missing:
        report_violation(f"missing tags: {', '.join(missing)}")
