"""`ContainerImage`: the ECR repository and the one image (worker + scanner) pushed to it.

The tag is a hash of everything the Dockerfile copies, so a code change pushes a new, never
reused tag (the repository's tags are immutable) and the task definitions take the pushed
digest: a new build rolls the service, and nothing relies on `latest`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

#: What the Dockerfile copies into the image; a change to any of these makes a new tag.
IMAGE_INPUTS = ("Dockerfile", "requirements-runtime.txt", "jobping", "worker", "scanner")
_SKIPPED = ("__pycache__", ".pyc", ".pytest_cache")


@dataclass(frozen=True, kw_only=True)
class ContainerImageArgs:
    """Inputs of `ContainerImage`."""

    context: Path
    """The build context (the repository root, holding `Dockerfile`)."""
    architecture: str
    """`ARM64` or `X86_64`: the platform the image is built for."""
    keep_images: int = 20
    """Lifecycle: how many tagged images the repository keeps."""


class ContainerImage(pulumi.ComponentResource):
    """An immutable, scanned ECR repository and the image built from `./Dockerfile`."""

    repository: aws.ecr.Repository
    """The repository; the execution roles may pull from it and nothing else."""
    image_ref: pulumi.Output[str]
    """`<repository>@sha256:<digest>`: what the task definitions run."""
    tag: str
    """The content-hash tag of this build."""

    def __init__(
        self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:ContainerImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            force_delete=False,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=self.repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child,
        )
        self.tag = content_tag(args.context, IMAGE_INPUTS)
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        image = docker.Image(
            f"{name}-image",
            image_name=self.repository.repository_url.apply(lambda url: f"{url}:{self.tag}"),
            build=docker.DockerBuildArgs(
                context=str(args.context),
                dockerfile=str(args.context / "Dockerfile"),
                platform=platform(args.architecture),
            ),
            registry=docker.RegistryArgs(
                server=self.repository.repository_url,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=child,
        )
        self.image_ref = image.repo_digest
        self.register_outputs({"image_ref": self.image_ref, "tag": self.tag})


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


def content_tag(root: Path, inputs: Iterable[str]) -> str:
    """A 16-hex-digit hash of the files under `inputs` (paths and bytes), stable across runs."""
    digest = hashlib.sha256()
    for path in _files(root, inputs):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _files(root: Path, inputs: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for name in inputs:
        path = root / name
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.extend(
            p for p in candidates if p.is_file() and not any(part in str(p) for part in _SKIPPED)
        )
    return found
