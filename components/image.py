"""`ContainerImage`: the ECR repository and the one image (worker + scanner) pushed to it.

The repository's tags are immutable, so a tag may name one image only. pulumi-docker rebuilds
and pushes whenever an input of its `build` changes (context digest: the Dockerfile plus every
file the `.dockerignore` rules leave, by relative path, mode and content; build args; platform;
target), and ECR rejects a push to an existing tag. The tag is therefore a digest of exactly
those inputs (`BuildSpec`): whenever pulumi-docker would rebuild, the tag is new. The task
definitions take the pushed digest, so nothing relies on `latest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.build_context import context_entries
from components.settings_types import ImageStackSettings

#: The Dockerfile's build argument for the RDS CA bundle's SHA-256 (`sha256sum -c` checks it).
CA_BUNDLE_ARG = "RDS_CA_BUNDLE_SHA256"


@dataclass(frozen=True, kw_only=True)
class ContainerImageArgs:
    """Inputs of `ContainerImage`."""

    context: Path
    """The build context (the repository root, holding `Dockerfile`)."""
    architecture: str
    """`ARM64` or `X86_64`: the platform the image is built for."""
    settings: ImageStackSettings = field(default_factory=ImageStackSettings)
    """`jobping:image`: repository deletion and the build's pinned checksum."""
    keep_images: int = 20
    """Lifecycle: how many tagged images the repository keeps."""


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """Everything that decides what pulumi-docker builds, and so whether it rebuilds."""

    context: Path
    """The build context directory."""
    dockerfile: Path
    """The Dockerfile (inside the context)."""
    platform: str
    """`linux/arm64` or `linux/amd64`."""
    args: Mapping[str, str] = field(default_factory=dict)
    """Build arguments."""
    target: str | None = None
    """The stage to build (None: the last one)."""


class ContainerImage(pulumi.ComponentResource):
    """An immutable, scanned ECR repository and the image built from `./Dockerfile`."""

    repository: aws.ecr.Repository
    """The repository; the execution roles may pull from it and nothing else."""
    image_ref: pulumi.Output[str]
    """`<repository>@sha256:<digest>`: what the task definitions run."""
    tag: str
    """The build-input digest tag of this build."""

    def __init__(
        self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:ContainerImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            # ECR refuses to delete a repository holding images unless forced: a disposable
            # stack sets it so `pulumi destroy` succeeds; production keeps its images.
            force_delete=args.settings.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child,
        )
        spec = build_spec(args)
        self.tag = image_tag(spec)
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        image = docker.Image(
            f"{name}-image",
            image_name=self.repository.repository_url.apply(lambda url: f"{url}:{self.tag}"),
            build=docker_build(spec),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=child,
        )
        self.image_ref = image.repo_digest
        self.register_outputs({"image_ref": self.image_ref, "tag": self.tag})


def build_spec(args: ContainerImageArgs) -> BuildSpec:
    """The build `args` describe: the context's Dockerfile, the platform, the build args."""
    build_args = {}
    if args.settings.rds_ca_bundle_sha256:
        build_args[CA_BUNDLE_ARG] = args.settings.rds_ca_bundle_sha256
    return BuildSpec(
        context=args.context,
        dockerfile=args.context / "Dockerfile",
        platform=platform(args.architecture),
        args=build_args,
    )


def docker_build(spec: BuildSpec) -> docker.DockerBuildArgs:
    """pulumi-docker's `build` input for `spec`.

    Paths are relative to the working directory (the project root under the Pulumi CLI): an
    absolute path would differ between checkouts, and pulumi-docker rebuilds on any change of
    `build`, so a deploy from another directory would re-push an existing tag.
    """
    context = os.path.relpath(spec.context)
    return docker.DockerBuildArgs(
        context=context,
        dockerfile=f"{context}/{spec.dockerfile.relative_to(spec.context).as_posix()}",
        platform=spec.platform,
        args=dict(spec.args) or None,
        target=spec.target,
    )


def platform(architecture: str) -> str:
    """Docker's platform string for an ECS CPU architecture."""
    return "linux/arm64" if architecture == "ARM64" else "linux/amd64"


def lifecycle_policy(keep_images: int) -> str:
    """Expire untagged images after a day; keep the newest `keep_images` images."""
    rules = [
        {
            "rulePriority": 1,
            "description": "Expire untagged images after 1 day",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the newest {keep_images} images",
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep_images,
            },
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules})


def image_tag(spec: BuildSpec) -> str:
    """16 hex digits of a SHA-256 over every input of `spec`, each field length-prefixed."""
    digest = hashlib.sha256()

    def put(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "big") + data)

    put("dockerfile", spec.dockerfile.read_bytes())
    put("platform", spec.platform.encode())
    put("target", (spec.target or "").encode())
    for key, value in sorted(spec.args.items()):
        put("arg", f"{key}={value}".encode())
    for relative in context_entries(spec.context, spec.dockerfile):
        path = spec.context / relative
        info = path.lstat()
        put("path", relative.encode())
        put("mode", oct(info.st_mode).encode())
        if stat.S_ISLNK(info.st_mode):
            put("link", os.readlink(path).encode())
        elif stat.S_ISREG(info.st_mode):
            put("content", hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]
