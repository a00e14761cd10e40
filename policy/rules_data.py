"""Security groups, the VPC and the database (EC2.2/18/19, CKV_AWS_23/382, RDS.*)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policy import tokens as t
from policy.model import Props, Resource, as_list, of_type, resource_rule, stack_rule

TIER_TAG = "jobping:tier"
_OPEN = ("0.0.0.0/0", "::/0")


@resource_rule("sg-no-public-ingress", "EC2.18, EC2.19, CKV_AWS_24/25/260/277",
               t.SECURITY_GROUP, t.INGRESS_RULE)  # fmt: skip
def sg_no_public_ingress(resource_type: str, props: Props) -> Iterable[str]:
    """No ingress from anywhere; ingress rules admit another security group only."""
    if resource_type == t.SECURITY_GROUP:
        for rule in as_list(props.get("ingress")):
            if set(as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))) & set(
                _OPEN
            ):
                yield "inline ingress from 0.0.0.0/0 or ::/0"
        return
    if props.get("cidrIpv4") in _OPEN or props.get("cidrIpv6") in _OPEN:
        yield "ingress from 0.0.0.0/0 or ::/0"
    if not props.get("referencedSecurityGroupId"):
        yield "ingress must come from a referenced security group"


@resource_rule("sg-limited-and-described", "CKV_AWS_23, CKV_AWS_382, awsguard sg conflicts",
               t.SECURITY_GROUP, t.INGRESS_RULE, t.EGRESS_RULE)  # fmt: skip
def sg_limited_and_described(resource_type: str, props: Props) -> Iterable[str]:
    """Every group and rule is described; egress is port-limited; no inline rules on groups."""
    if not props.get("description"):
        yield "description is missing"
    if resource_type == t.SECURITY_GROUP:
        if props.get("ingress") or props.get("egress"):
            yield "inline ingress/egress mixed with rule resources"
        return
    if resource_type == t.EGRESS_RULE:
        if props.get("ipProtocol") in ("-1", "all"):
            yield "egress to all protocols"
        elif props.get("fromPort") != props.get("toPort"):
            yield f"egress opens ports {props.get('fromPort')}-{props.get('toPort')}, not one port"


@stack_rule("default-sg-closed", "EC2.2, CKV2_AWS_12")
def default_sg_closed(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """A managed VPC's default security group has no rules."""
    defaults = of_type(resources, t.DEFAULT_SECURITY_GROUP)
    for group in defaults:
        if group.props.get("ingress") or group.props.get("egress"):
            yield group.name, "the default security group has rules"
    # Under mocks only the awsx component is seen; at a real preview its aws:ec2 children too.
    if of_type(resources, t.VPC, t.AWSX_VPC) and not defaults:
        yield "", "the VPC's default security group is not managed (and emptied)"


@resource_rule("rds-not-public", "RDS.2, CKV_AWS_17", t.DB_INSTANCE)
def rds_not_public(_: str, props: Props) -> Iterable[str]:
    """The database is not publicly accessible."""
    if props.get("publiclyAccessible") is not False:
        yield "publiclyAccessible must be false"


@resource_rule("rds-private-subnets", "RDS.46", t.DB_SUBNET_GROUP, t.SUBNET, may_be_advisory=True)
def rds_private_subnets(resource_type: str, props: Props) -> Iterable[str]:
    """The database lives in private subnets (no route to an internet gateway)."""
    tier = (props.get("tags") or {}).get(TIER_TAG)
    if resource_type == t.DB_SUBNET_GROUP and tier != "private":
        yield f"DB subnet group is in {tier or 'unlabelled'} subnets, not private ones"
    if resource_type == t.SUBNET and tier == "private" and props.get("mapPublicIpOnLaunch"):
        yield "a private subnet maps public IPs on launch"


@resource_rule("rds-encrypted", "RDS.3, CKV_AWS_16", t.DB_INSTANCE)
def rds_encrypted(_: str, props: Props) -> Iterable[str]:
    """Storage is encrypted."""
    if props.get("storageEncrypted") is not True:
        yield "storageEncrypted must be true"


@resource_rule("rds-force-ssl", "RDS.38, CKV2_AWS_69", t.DB_PARAMETER_GROUP)
def rds_force_ssl(_: str, props: Props) -> Iterable[str]:
    """The PostgreSQL parameter group forces TLS."""
    values = {p.get("name"): str(p.get("value")) for p in as_list(props.get("parameters"))}
    if str(props.get("family", "")).startswith("postgres") and values.get("rds.force_ssl") != "1":
        yield "rds.force_ssl must be 1"


@stack_rule("rds-force-ssl-attached", "RDS.38")
def rds_force_ssl_attached(resources: Sequence[Resource]) -> Iterable[tuple[str, str]]:
    """Every instance uses a parameter group of this stack that forces TLS."""
    forcing = {
        g.value("name")
        for g in of_type(resources, t.DB_PARAMETER_GROUP)
        if not list(rds_force_ssl(g.type, g.props))
    }
    for instance in of_type(resources, t.DB_INSTANCE):
        if instance.props.get("parameterGroupName") not in forcing:
            yield instance.name, "the instance's parameter group does not force TLS"


@resource_rule("rds-backups", "RDS.11, CKV_AWS_133", t.DB_INSTANCE)
def rds_backups(_: str, props: Props) -> Iterable[str]:
    """Backups are kept at least 7 days."""
    if (props.get("backupRetentionPeriod") or 0) < 7:
        yield "backupRetentionPeriod must be at least 7"


@resource_rule("rds-deletion-protection", "RDS.8, CKV_AWS_293", t.DB_INSTANCE, may_be_advisory=True)
def rds_deletion_protection(_: str, props: Props) -> Iterable[str]:
    """The instance is deletion-protected and leaves a final snapshot."""
    if props.get("deletionProtection") is not True:
        yield "deletionProtection must be true"
    if props.get("skipFinalSnapshot") is not False or not props.get("finalSnapshotIdentifier"):
        yield "skipFinalSnapshot must be false with a finalSnapshotIdentifier"


@resource_rule("rds-multi-az", "RDS.5, CKV_AWS_157", t.DB_INSTANCE, may_be_advisory=True)
def rds_multi_az(_: str, props: Props) -> Iterable[str]:
    """The instance has a standby in another zone."""
    if props.get("multiAz") is not True:
        yield "multiAz must be true"


@resource_rule("rds-operations", "RDS.13, RDS.9/36, RDS.6, RDS.10, CKV_AWS_226/129/118/161",
               t.DB_INSTANCE)  # fmt: skip
def rds_operations(_: str, props: Props) -> Iterable[str]:
    """Minor upgrades, log exports, enhanced monitoring and IAM authentication are on."""
    if props.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade must not be false"
    if not {"postgresql", "upgrade"} <= set(as_list(props.get("enabledCloudwatchLogsExports"))):
        yield "enabledCloudwatchLogsExports must include postgresql and upgrade"
    if not props.get("monitoringInterval") or not props.get("monitoringRoleArn"):
        yield "enhanced monitoring (monitoringInterval > 0 and a role) is off"
    if props.get("iamDatabaseAuthenticationEnabled") is not True:
        yield "iamDatabaseAuthenticationEnabled must be true"


@resource_rule("rds-hardening", "RDS.17, RDS.23, RDS.25, CKV2_AWS_60", t.DB_INSTANCE)
def rds_hardening(_: str, props: Props) -> Iterable[str]:
    """Snapshots copy tags; the port and master user name are not the defaults."""
    if props.get("copyTagsToSnapshot") is not True:
        yield "copyTagsToSnapshot must be true"
    if props.get("port") in (None, 5432):
        yield "port must not be the default 5432"
    if props.get("username") in (None, "postgres"):
        yield "the master username must not be postgres"


@resource_rule("rds-managed-password", "SecretsManager.1/4 (RDS managed master password)",
               t.DB_INSTANCE)  # fmt: skip
def rds_managed_password(_: str, props: Props) -> Iterable[str]:
    """RDS manages (and rotates) the master password; the program never holds one."""
    if props.get("manageMasterUserPassword") is not True:
        yield "manageMasterUserPassword must be true"
    if props.get("password"):
        yield "a password is set in the program"
