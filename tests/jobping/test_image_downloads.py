"""What the Dockerfile downloads is what was verified.

Every file fetched from the network is checked against a pinned SHA-256 before anything else
runs (what the image contains and runs: `test_runtime_image.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

from components.image import CA_BUNDLE_ARG
from tests.jobping.image import final_stage


def remote_download_problems(dockerfile: str) -> list[str]:
    """Each `ADD <url>` must be checked by the very next instruction, against a build ARG."""
    problems: list[str] = []
    stage = final_stage(dockerfile)
    declared = {args.split("=", 1)[0] for keyword, args in stage if keyword == "ARG"}
    for index, (keyword, args) in enumerate(stage):
        if keyword != "ADD" or not re.search(r"\bhttps?://", args):
            continue
        if re.search(r"--checksum=sha256:[0-9a-f]{64}\b", args):
            continue
        destination = args.split()[-1]
        check = stage[index + 1] if index + 1 < len(stage) else ("", "")
        used = set(re.findall(r"\$\{?(\w+)", check[1]))
        if check[0] != "RUN" or not re.search(r"sha256sum\b[^|&;]*\s-c\b", check[1]):
            problems.append(f"{destination}: not checked with sha256sum -c right after ADD")
        elif destination not in check[1] or not used & declared:
            problems.append(f"{destination}: the check names neither it nor a build ARG")
    return problems


def test_dockerfile_verifies_the_rds_ca_bundle_before_use(repo_root: Path) -> None:
    dockerfile = (repo_root / "Dockerfile").read_text()
    assert remote_download_problems(dockerfile) == []
    stage = final_stage(dockerfile)
    # The digest comes from the build (jobping:image.rdsCaBundleSha256), never a made-up default.
    assert ("ARG", CA_BUNDLE_ARG) in stage
    assert any(k == "ADD" and "rds-global-bundle.pem" in a for k, a in stage)


def test_an_unverified_download_is_reported() -> None:
    """The control: the Dockerfile as it was (ADD, then straight on) fails the check."""
    unverified = (
        "FROM python:3.11-slim\n"
        "ADD --chmod=444 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem \\\n"
        "    /etc/ssl/certs/rds-global-bundle.pem\n"
        "RUN groupadd --system --gid 10001 jobping\n"
    )
    assert remote_download_problems(unverified) == [
        "/etc/ssl/certs/rds-global-bundle.pem: not checked with sha256sum -c right after ADD"
    ]
    checked_without_arg = unverified.replace(
        "RUN groupadd --system --gid 10001 jobping",
        "RUN echo 'abc  /etc/ssl/certs/rds-global-bundle.pem' | sha256sum -c -",
    )
    assert remote_download_problems(checked_without_arg) == [
        "/etc/ssl/certs/rds-global-bundle.pem: the check names neither it nor a build ARG"
    ]
