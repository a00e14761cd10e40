"""`Database`: RDS PostgreSQL 16 (or an existing server) reachable from the tasks only.

The master password is managed by RDS in Secrets Manager and rotated every 7 days; only the
`migrate` container uses it (injected at task start, it runs at once). The application logs in
as `jobping_runtime`, the least-privilege role the migrations create, with IAM authentication
tokens (valid 15 minutes, made per connection), so no application password exists. An existing
server keeps the secret for both: the application reads it each time it opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import service_role
from components.network import TIER_TAG
from components.settings import DatabaseStackSettings
from jobping import envvars

ENGINE_VERSION = "16"
LOG_EXPORTS = ("postgresql", "upgrade")
MASTER_USERNAME = "jobping_admin"


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of `Database`."""

    settings: DatabaseStackSettings
    """Create or existing; name, port, instance size, storage, backups, protection."""
    identifier: str
    """The instance identifier; fixed so its log groups can be created with a retention."""
    vpc_id: pulumi.Input[str]
    """VPC of the database security group (create only)."""
    subnet_ids: pulumi.Input[list[str]]
    """Subnets of the database subnet group (create only)."""
    subnets_private: bool
    """Whether `subnet_ids` are private; recorded on the subnet group for the policy rules."""
    task_security_group_id: pulumi.Input[str]
    """The only security group admitted on the database port."""
    account_id: pulumi.Input[str]
    """Account the RDS enhanced-monitoring role trusts (and of the `rds-db:connect` ARN)."""
    region: pulumi.Input[str]
    """Region of the instance (of the `rds-db:connect` ARN)."""
    partition: pulumi.Input[str]
    """Partition of the `rds-db:connect` ARN."""
    log_retention_days: int
    """Retention of the instance's PostgreSQL and upgrade log groups."""


class Database(pulumi.ComponentResource):
    """The PostgreSQL endpoint, its port and name, and the credentials secret's ARN."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    name: str
    secret_arn: pulumi.Output[str]
    """Secrets Manager secret holding the owner's `username` and `password` (rotated by RDS)."""
    secret_kms_key_arn: str | None
    """Customer-managed KMS key of an existing server's secret (None: an AWS managed key)."""
    app_user: str | None
    """IAM database user of the application (created instances only; None: use the secret)."""
    app_user_arn: pulumi.Output[str] | None
    """`arn:…:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<app_user>` for `rds-db:connect`."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:Database", name, None, opts)
        s = args.settings
        self.name = s.name
        self.secret_kms_key_arn = s.secret_kms_key_arn
        self.app_user, self.app_user_arn = None, None
        if s.mode == "existing":
            self.host = pulumi.Output.from_input(s.host or "")
            self.port = pulumi.Output.from_input(s.port)
            self.secret_arn = pulumi.Output.from_input(s.secret_arn or "")
            if s.security_group_id:
                self._admit_tasks(name, s.security_group_id, args)
        else:
            group = aws.ec2.SecurityGroup(
                f"{name}-sg",
                description="JobPing database: PostgreSQL from the task security group only",
                vpc_id=args.vpc_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._admit_tasks(name, group.id, args)
            instance = self._instance(name, args, group)
            self.host = instance.address
            self.port = instance.port
            self.secret_arn = instance.master_user_secrets.apply(lambda ss: ss[0].secret_arn or "")
            # IAM authentication: the role is created by migration 0004 and granted rds_iam.
            self.app_user = envvars.APP_DATABASE_USER
            self.app_user_arn = pulumi.Output.format(
                "arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}",
                partition=args.partition,
                region=args.region,
                account=args.account_id,
                resource_id=instance.resource_id,
                user=self.app_user,
            )
        self.register_outputs({"host": self.host, "port": self.port, "secret_arn": self.secret_arn})

    def _admit_tasks(self, name: str, db_group_id: pulumi.Input[str], args: DatabaseArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        port = args.settings.port
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-tasks",
            security_group_id=db_group_id,
            description="PostgreSQL from the worker and scanner tasks",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=args.task_security_group_id,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-to-db",
            security_group_id=args.task_security_group_id,
            description="Tasks to PostgreSQL",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=db_group_id,
            opts=child,
        )

    def _instance(
        self, name: str, args: DatabaseArgs, group: aws.ec2.SecurityGroup
    ) -> aws.rds.Instance:
        child = pulumi.ResourceOptions(parent=self)
        s = args.settings
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            tags={TIER_TAG: "private" if args.subnets_private else "public"},
            opts=child,
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{ENGINE_VERSION}",
            description="JobPing: TLS required",
            parameters=[{"name": "rds.force_ssl", "value": "1"}],
            opts=child,
        )
        monitoring = service_role(
            f"{name}-monitoring-role",
            "monitoring.rds.amazonaws.com",
            args.account_id,
            "RDS enhanced monitoring",
            self,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring.name,
            policy_arn=aws.iam.ManagedPolicy.AMAZON_RDS_ENHANCED_MONITORING_ROLE,
            opts=child,
        )
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{kind}",
                name=f"/aws/rds/instance/{args.identifier}/{kind}",
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            for kind in LOG_EXPORTS
        ]
        return aws.rds.Instance(
            f"{name}-instance",
            identifier=args.identifier,
            engine="postgres",
            engine_version=ENGINE_VERSION,
            instance_class=s.instance_class,
            allocated_storage=s.allocated_storage_gb,
            max_allocated_storage=s.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=s.name,
            username=MASTER_USERNAME,
            manage_master_user_password=True,
            port=s.port,
            publicly_accessible=False,
            multi_az=s.multi_az,
            deletion_protection=s.deletion_protection,
            backup_retention_period=s.backup_retention_days,
            skip_final_snapshot=not s.final_snapshot,
            final_snapshot_identifier=final_snapshot_id(args.identifier, parameters.name)
            if s.final_snapshot
            else None,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            monitoring_interval=60,
            monitoring_role_arn=monitoring.arn,
            # The application logs in with IAM tokens (`jobping.dbauth`), never the master user.
            iam_database_authentication_enabled=True,
            # Changes such as the instance class or parameter group otherwise wait for the
            # maintenance window; a reboot-causing change applied now is an outage now.
            apply_immediately=s.apply_immediately,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            parameter_group_name=parameters.name,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_groups),
        )


def final_snapshot_id(identifier: str, created_with: pulumi.Output[str]) -> pulumi.Output[str]:
    """A final-snapshot name unique to this creation of the stack's database.

    A fixed name fails the second destroy (the snapshot of the first still exists). The suffix is
    Pulumi's random auto-name suffix of the parameter group, created with the instance; the name
    only matters at delete time, so a later change of it is an in-place no-op.
    """
    return created_with.apply(lambda name: f"{identifier}-final-{name.rsplit('-', 1)[-1]}")
