"""ContainerService: the shop on ECS Fargate behind the load balancer.

ECR repository, cluster, log group, one Secrets Manager secret holding the app's secret
settings, the execution role allowed to read it, the task definition, the service and its
autoscaling on CPU and on ALB requests per task; and the app's periodic commands (the reaper)
as EventBridge schedules that run the same task definition with another command.

The repository comes first: until an image is pushed to it and its digest given
(``image_digest``), the component holds the repository only, so the first ``pulumi up`` never
creates a service whose tasks cannot pull. Every task runs the migrations before the shop:
a non-essential ``migrate`` container of the same image (k8s.app_env.MIGRATE_COMMAND, under the
migrator's advisory lock, a no-op when the schema is current), on whose success the shop's
container starts (``dependsOn`` SUCCESS); a task whose migrations fail never serves. Only that
container gets ``migrator_secrets`` (the schema owner's URL): the shop's runs as the app's own
database role, which the migrations grant."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from k8s.app_env import MIGRATE_COMMAND
from shoplab_infra.retention import Retention
from shoplab_infra.tagging import tags

_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
_CONTAINER = "shop"         # the task definition's serving container
_MIGRATE = "migrate"        # ...and the one that runs before it
_SCRATCH = "tmp"            # the task's scratch volume, mounted on /tmp in both
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def image_reference(repository_url: pulumi.Input[str], digest: str) -> pulumi.Output[str]:
    """``<repository>@sha256:<hex>``: a task runs exactly the image that was pushed."""
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"imageDigest {digest!r}: expected sha256:<64 hex digits>, as "
                         "`podman push --digestfile` writes it (pulumi/README.md, \"Stage 3: "
                         "the image and the migrations\")")
    return pulumi.Output.format("{0}@{1}", repository_url, digest)


def rate_expression(minutes: int) -> str:
    """EventBridge's schedule expression for "every ``minutes`` minutes"."""
    if minutes < 1:
        raise ValueError(f"schedule every {minutes} min: EventBridge's rate is at least 1 minute")
    return f"rate({minutes} minute{'' if minutes == 1 else 's'})"


@dataclass
class ScheduledCommand:
    """A command of the app's image run on a schedule as a task of the service's definition."""
    name: str                       # resource names: <component>-<name>-...
    command: list[str]              # the container's command (CMD; the image's entrypoint stays)
    every_minutes: int


@dataclass
class ContainerServiceArgs:
    stage: str
    vpc_id: pulumi.Input[str]
    subnet_ids: list
    security_group_id: pulumi.Input[str]    # firewall.tier_group: from the ALB only
    target_group_arn: pulumi.Input[str]
    request_count_label: pulumi.Input[str]
    container_port: int
    cpu: int
    memory: int
    desired_count: int
    min_count: int
    max_count: int
    cpu_target: int
    requests_per_target: int
    image_digest: str                            # "" = no image pushed yet: repository only
    log_retention_days: int
    environment: dict[str, str]                  # plain settings, by env name
    secrets: dict[str, pulumi.Input[str]]        # secret settings, by env name
    retention: Retention                         # the ECR repository's (retention.py)
    health_check_path: str = "/healthz"
    depends_on: list = field(default_factory=list)   # the listener: the TG must be in use
    scheduled: list[ScheduledCommand] = field(default_factory=list)
    # the migrate container's own (k8s.app_env.MIGRATOR_SECRETS): the shop's never has them
    migrator_secrets: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class ContainerService(pulumi.ComponentResource):
    def __init__(self, name: str, args: ContainerServiceArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("shoplab:aws:ContainerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if not args.min_count <= args.desired_count <= args.max_count:
            raise ValueError(f"need taskMinCount <= taskCount <= taskMaxCount, got "
                             f"{args.min_count}, {args.desired_count}, {args.max_count}")
        names = [*args.environment, *args.secrets, *args.migrator_secrets]
        overlap = {n for n in names if names.count(n) > 1}
        if overlap:
            raise ValueError(f"{sorted(overlap)}: given twice (environment, secrets)")

        def t(suffix: str) -> dict:
            return tags(args.stage, f"{name}-{suffix}")
        self.repository = aws.ecr.Repository(
            f"{name}-repo", image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True),
            **args.retention.repository(), tags=t("repo"), opts=args.retention.keep(child))
        self.repository_url = self.repository.repository_url
        self.service = self.cluster = None
        if not args.image_digest:
            self.register_outputs({"repository_url": self.repository_url})
            return
        image = image_reference(self.repository_url, args.image_digest)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            tags=t("cluster"), opts=child)
        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/shoplab/{args.stage}/{name}",
                                            retention_in_days=args.log_retention_days,
                                            tags=t("logs"), opts=child)
        # one secret, one key per setting: ECS reads "<arn>:<KEY>::" into each variable
        self.secret = aws.secretsmanager.Secret(f"{name}-settings",
                                                description="shop secret settings",
                                                recovery_window_in_days=0, tags=t("settings"),
                                                opts=child)
        aws.secretsmanager.SecretVersion(
            f"{name}-settings-version", secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(pulumi.Output.json_dumps(
                {**args.secrets, **args.migrator_secrets})),
            opts=child)
        assume = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]})
        execution_role = aws.iam.Role(f"{name}-execution", assume_role_policy=assume,
                                      tags=t("execution"), opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-execution-managed", role=execution_role.name,
                                     policy_arn=_EXECUTION_POLICY, opts=child)
        aws.iam.RolePolicy(
            f"{name}-read-settings", role=execution_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [self.secret.arn]}]}),
            opts=child)
        # the shop never calls AWS APIs: its task role has no policy at all
        task_role = aws.iam.Role(f"{name}-task", assume_role_policy=assume, tags=t("task"),
                                 opts=child)
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        def settings_and_logs(stream_prefix: str, secrets: dict) -> dict:
            """What both containers get: the image, the app's settings, the user, the logs, and
            the hardening the stage-4 pods have: a read-only root with /tmp the one writable
            place (the task's scratch volume; the image writes nothing elsewhere)."""
            return {
                "image": image,
                "environment": [{"name": k, "value": v}
                                for k, v in sorted(args.environment.items())],
                "secrets": [{"name": k, "valueFrom": pulumi.Output.format("{0}:{1}::",
                                                                          self.secret.arn, k)}
                            for k in sorted(secrets)],
                "readonlyRootFilesystem": True,
                "mountPoints": [{"sourceVolume": _SCRATCH, "containerPath": "/tmp",
                                 "readOnly": False}],
                "user": "10001",
                "logConfiguration": {"logDriver": "awslogs", "options": {
                    "awslogs-group": log_group.name, "awslogs-region": region,
                    "awslogs-stream-prefix": stream_prefix}},
            }
        migrate = {"name": _MIGRATE, "essential": False, "command": list(MIGRATE_COMMAND),
                   **settings_and_logs(_MIGRATE, {**args.secrets, **args.migrator_secrets})}
        container = {
            "name": _CONTAINER,
            "essential": True,
            "dependsOn": [{"containerName": _MIGRATE, "condition": "SUCCESS"}],
            "portMappings": [{"containerPort": args.container_port, "protocol": "tcp"}],
            **settings_and_logs("shop", args.secrets),
            # ECS ignores the image's HEALTHCHECK; python is in the image, curl may not be
            "healthCheck": {"command": ["CMD", "python3", "-c",
                                        "import urllib.request; urllib.request.urlopen("
                                        f"'http://127.0.0.1:{args.container_port}"
                                        f"{args.health_check_path}', timeout=2)"],
                            "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 20},
        }
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task", family=f"shoplab-{args.stage}-{name}",
            requires_compatibilities=["FARGATE"], network_mode="awsvpc",
            cpu=str(args.cpu), memory=str(args.memory),
            execution_role_arn=execution_role.arn, task_role_arn=task_role.arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"),
            container_definitions=pulumi.Output.json_dumps([migrate, container]),
            # a bind mount on the task's ephemeral storage, shared by its containers
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=_SCRATCH)],
            tags=t("task"), opts=child)
        self.service = aws.ecs.Service(
            f"{name}-service", cluster=self.cluster.arn, task_definition=self.task_definition.arn,
            desired_count=args.desired_count, launch_type="FARGATE",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids, security_groups=[args.security_group_id],
                # public subnets without a NAT gateway: the task pulls from ECR over its own IP
                assign_public_ip=True),
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=args.target_group_arn, container_name=_CONTAINER,
                container_port=args.container_port)],
            health_check_grace_period_seconds=30,
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True),
            # `up` succeeds only once the new tasks are running and healthy behind the ALB (or
            # fails when the circuit breaker rolls them back)
            wait_for_steady_state=True,
            propagate_tags="SERVICE", tags=t("service"),
            # autoscaling owns the running count after creation
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on,
                                        ignore_changes=["desiredCount"]))
        target = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.format("service/{0}/{1}", self.cluster.name,
                                             self.service.name),
            min_capacity=args.min_count, max_capacity=args.max_count, tags=t("scaling"),
            opts=child)
        for policy, metric, value, label in (
                ("cpu", "ECSServiceAverageCPUUtilization", args.cpu_target, None),
                ("requests", "ALBRequestCountPerTarget", args.requests_per_target,
                 args.request_count_label)):
            aws.appautoscaling.Policy(
                f"{name}-scale-{policy}", policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace, resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=value, scale_in_cooldown=300, scale_out_cooldown=60,
                    predefined_metric_specification=aws.appautoscaling.
                    PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric, resource_label=label)),
                opts=child)
        if args.scheduled:
            self._schedule(name, args, execution_role, task_role, t)
        self.register_outputs({"repository_url": self.repository_url,
                               "cluster_name": self.cluster.name,
                               "service_name": self.service.name})

    def _schedule(self, name: str, args: ContainerServiceArgs, execution_role: aws.iam.Role,
                  task_role: aws.iam.Role, t) -> None:
        """EventBridge rules that start a task of the service's definition on a schedule, with
        the container's command overridden (RunTask's containerOverrides, from the target's
        input). Same subnets, public address and security group as the service's tasks: the
        subnets without a NAT gateway are the only way to ECR, Secrets Manager and Stripe, and
        the group is the one the database and Redis admit. A run-task is in no service, so the
        container's HTTP health check (nothing listens) only marks it unhealthy; ECS does not
        stop a standalone task for that. Its ``migrate`` container runs first, as in every task
        of the definition: a no-op once the service's tasks have migrated."""
        child = pulumi.ResourceOptions(parent=self)
        assume = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "events.amazonaws.com"}}]})
        self.schedule_role = aws.iam.Role(f"{name}-schedule", assume_role_policy=assume,
                                          tags=t("schedule"), opts=child)
        # RunTask of any revision of this family, on this cluster only; PassRole of exactly the
        # two roles the task definition names, to ECS tasks only
        aws.iam.RolePolicy(
            f"{name}-schedule-run-task", role=self.schedule_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["ecs:RunTask"],
                 "Resource": [pulumi.Output.format(
                     "{0}:*", self.task_definition.arn_without_revision)],
                 "Condition": {"ArnEquals": {"ecs:cluster": self.cluster.arn}}},
                {"Effect": "Allow", "Action": ["iam:PassRole"],
                 "Resource": [execution_role.arn, task_role.arn],
                 "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
            ]}),
            opts=child)
        self.schedules = []
        for job in args.scheduled:
            rule = aws.cloudwatch.EventRule(
                f"{name}-{job.name}", description=f"{' '.join(job.command)} on the {name} task",
                schedule_expression=rate_expression(job.every_minutes),
                tags=t(job.name), opts=child)
            aws.cloudwatch.EventTarget(
                f"{name}-{job.name}", rule=rule.name, arn=self.cluster.arn,
                role_arn=self.schedule_role.arn,
                ecs_target=aws.cloudwatch.EventTargetEcsTargetArgs(
                    task_definition_arn=self.task_definition.arn, task_count=1,
                    launch_type="FARGATE", platform_version="LATEST",
                    network_configuration=aws.cloudwatch.EventTargetEcsTargetNetworkConfigurationArgs(
                        subnets=args.subnet_ids, security_groups=[args.security_group_id],
                        assign_public_ip=True)),
                input=json.dumps({"containerOverrides": [
                    {"name": _CONTAINER, "command": list(job.command)}]}),
                # a run that could not start is retried within its own interval only: then
                # the next one is due
                retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=60 * job.every_minutes,
                    maximum_retry_attempts=2),
                opts=child)
            self.schedules.append(rule)
