"""The image tag names exactly one image, and the image is what the task definitions expect.

The repository's tags are immutable: pulumi-docker rebuilds and pushes when any input of its
`build` changes, and a push to an existing tag fails. So every change that rebuilds must give a
new tag (mode, content, name, Dockerfile, build arg, platform), and a change that cannot alter
the image (an ignored file) must change no build input at all. `.dockerignore` matching follows
Docker's rules (https://docs.docker.com/build/concepts/context/#dockerignore-files, implemented by
moby/patternmatcher and walked like BuildKit's fsutil).
"""

from __future__ import annotations

import copy
import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from infra_snapshot import ROOT, Snapshot, stack_file_config

from components.build_context import IgnoreRules, context_entries, read_ignore_file
from components.image import (
    CA_BUNDLE_ARG,
    BuildSpec,
    ContainerImageArgs,
    build_spec,
    docker_build,
    image_tag,
)
from components.settings import SettingsError, parse_settings
from components.settings_types import ImageStackSettings

IGNORE = (
    "# build only what the image needs\n*\n!app/\n!requirements.txt\n**/__pycache__\napp/local/\n"
)


def make_context(root: Path) -> Path:
    """A small build context: two included files, an ignored tree, a cache directory."""
    files = {
        "Dockerfile": "FROM python:3.11-slim\nCOPY app/ /app/\n",
        ".dockerignore": IGNORE,
        "requirements.txt": "psycopg==3.2.0\n",
        "app/main.py": "print('hi')\n",
        "app/local/dev.py": "DEBUG = True\n",
        "app/__pycache__/main.cpython-311.pyc": "bytecode",
        "tests/test_main.py": "def test(): ...\n",
        "README.md": "# app\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    (root / "app/current").symlink_to("main.py")
    return root


def spec_of(root: Path, **overrides: object) -> BuildSpec:
    values: dict[str, object] = {
        "context": root,
        "dockerfile": root / "Dockerfile",
        "platform": "linux/arm64",
        "args": {CA_BUNDLE_ARG: "0" * 64},
    }
    values.update(overrides)
    return BuildSpec(**values)  # type: ignore[arg-type]


Mutation = Callable[[Path], object]

#: Changes that alter the image (or what pulumi-docker hashes): each must give a new tag.
REBUILDS: dict[str, Mutation] = {
    "chmod +x an included file": lambda r: (r / "app/main.py").chmod(0o755),
    "chmod an included directory": lambda r: (r / "app").chmod(0o700),
    "edit an included file": lambda r: (r / "app/main.py").write_text("print('bye')\n"),
    "rename an included file": lambda r: (r / "app/main.py").rename(r / "app/entry.py"),
    "add an included file": lambda r: (r / "app/extra.py").write_text(""),
    "edit the Dockerfile": lambda r: (r / "Dockerfile").write_text("FROM python:3.12-slim\n"),
    "un-ignore a file": lambda r: (r / ".dockerignore").write_text(IGNORE + "!README.md\n"),
    "add a symlink": lambda r: (r / "app/link").symlink_to("main.py"),
    "point a symlink elsewhere": lambda r: _retarget(r / "app/current", "local/dev.py"),
}


def _retarget(link: Path, target: str) -> None:
    link.unlink()
    link.symlink_to(target)


#: Changes Docker never sends to the builder: the tag and every build input stay the same.
IGNORED: dict[str, Mutation] = {
    "edit an ignored file": lambda r: (r / "README.md").write_text("# changed\n"),
    "chmod an ignored file": lambda r: (r / "tests/test_main.py").chmod(0o600),
    "edit under an ignored directory": lambda r: (r / "app/local/dev.py").write_text("X = 1\n"),
    "add bytecode": lambda r: (r / "app/__pycache__/x.pyc").write_text("pyc"),
    "add an ignored top-level file": lambda r: (r / "notes.txt").write_text("todo"),
}


@pytest.mark.parametrize("change", sorted(REBUILDS))
def test_every_change_that_rebuilds_gives_a_new_tag(tmp_path: Path, change: str) -> None:
    root = make_context(tmp_path)
    before = image_tag(spec_of(root))
    REBUILDS[change](root)
    assert image_tag(spec_of(root)) != before


@pytest.mark.parametrize("change", sorted(IGNORED))
def test_a_change_to_an_ignored_path_rebuilds_nothing(tmp_path: Path, change: str) -> None:
    root = make_context(tmp_path)
    before = (image_tag(spec_of(root)), context_entries(root, root / "Dockerfile"))
    IGNORED[change](root)
    # Same tag and the same context: pulumi-docker's context digest is unchanged, no rebuild.
    assert (image_tag(spec_of(root)), context_entries(root, root / "Dockerfile")) == before


@pytest.mark.parametrize(
    "override",
    [
        {"platform": "linux/amd64"},
        {"args": {CA_BUNDLE_ARG: "1" * 64}},
        {"args": {}},
        {"target": "build"},
    ],
    ids=["platform", "build-arg-value", "build-arg-removed", "target"],
)
def test_build_options_are_part_of_the_tag(tmp_path: Path, override: dict[str, object]) -> None:
    root = make_context(tmp_path)
    assert image_tag(spec_of(root, **override)) != image_tag(spec_of(root))


def test_tag_does_not_depend_on_where_the_checkout_lives(tmp_path: Path) -> None:
    one, other = make_context(tmp_path / "one"), make_context(tmp_path / "elsewhere" / "two")
    assert image_tag(spec_of(one)) == image_tag(spec_of(other))


def test_build_paths_are_relative_so_another_checkout_rebuilds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    build = docker_build(build_spec(ContainerImageArgs(context=ROOT, architecture="ARM64")))
    assert (build.context, build.dockerfile) == (".", "./Dockerfile")


def test_the_stack_setting_reaches_the_build_as_an_argument() -> None:
    digest = "ab" * 32
    args = ContainerImageArgs(
        context=ROOT,
        architecture="X86_64",
        settings=ImageStackSettings(rds_ca_bundle_sha256=digest),
    )
    spec = build_spec(args)
    assert spec.args == {CA_BUNDLE_ARG: digest}
    assert spec.platform == "linux/amd64"


def test_the_ca_bundle_digest_must_be_a_sha256() -> None:
    config = stack_file_config("dev")
    config["jobping:image"] = {"forceDelete": True, "rdsCaBundleSha256": "not-a-digest"}
    with pytest.raises(SettingsError, match="rdsCaBundleSha256: must be 64 lower-case hex"):
        parse_settings(lambda k: copy.deepcopy(config.get(f"jobping:{k}")))
    config["jobping:image"]["rdsCaBundleSha256"] = "ab" * 32
    settings = parse_settings(lambda k: copy.deepcopy(config.get(f"jobping:{k}")))
    assert settings.image.rds_ca_bundle_sha256 == "ab" * 32


def test_the_program_tags_the_image_with_the_digest_of_its_build(stack: Snapshot) -> None:
    image = stack.named("image-image")["inputs"]
    assert image["build"]["context"] == "."
    image_settings = stack.setting("image")
    args = ContainerImageArgs(
        context=ROOT,
        architecture=stack.setting("worker")["architecture"],
        settings=ImageStackSettings(
            force_delete=image_settings["forceDelete"],
            rds_ca_bundle_sha256=image_settings.get("rdsCaBundleSha256"),
        ),
    )
    assert image["imageName"].endswith(":" + image_tag(build_spec(args)))
    assert image["build"].get("args", {}) == dict(build_spec(args).args)


def test_the_repository_context_is_what_the_dockerfile_copies() -> None:
    entries = context_entries(ROOT, ROOT / "Dockerfile")
    assert {e.split("/")[0] for e in entries} == {
        "jobping",
        "worker",
        "scanner",
        "requirements-runtime.txt",
    }
    assert not [e for e in entries if "__pycache__" in e or e.startswith("devtools")]


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*"], "a", True),
        (["*"], "a/b/c.py", True),  # a pattern matching a directory matches what is below
        (["*.md"], "docs/x.md", False),  # `*` never crosses `/`
        (["*/*.md"], "docs/x.md", True),
        (["**/*.md"], "x.md", True),
        (["**/*.md"], "a/b/x.md", True),
        (["a/**"], "a", False),
        (["a/**"], "a/b", True),
        (["**"], "anything/at/all", True),
        (["?.py"], "a.py", True),
        (["?.py"], "ab.py", False),
        (["[a-c].txt"], "b.txt", True),
        (["[^a-c].txt"], "b.txt", False),
        (["a.b"], "aXb", False),  # `.` is literal, not a regular expression
        (["a\\*b"], "a*b", True),
        (["a\\*b"], "aXb", False),
        (["/root.txt"], "root.txt", True),  # a leading slash is dropped
        (["./a/../b"], "b", True),  # patterns are cleaned
        (["*", "!keep"], "keep/file", False),
        (["*", "!keep", "keep/drop"], "keep/drop", True),  # the last match wins
        (["*.txt", "!*.txt"], "x.txt", False),
        (["**/__pycache__"], "pkg/__pycache__/m.pyc", True),
        (["**/__pycache__"], "__pycache__", True),
    ],
)
def test_dockerignore_matches_like_docker(patterns: list[str], path: str, excluded: bool) -> None:
    assert IgnoreRules(read_ignore_file("\n".join(patterns))).excluded(path)[0] is excluded


def test_dockerignore_reader_skips_comments_and_blank_lines() -> None:
    text = "\ufeff# comment\n\n  *.pyc  \n! keep.pyc\n/abs/path\n #not a comment\n"
    assert read_ignore_file(text) == ["*.pyc", "!keep.pyc", "abs/path", "#not a comment"]


def test_an_excluded_directory_with_an_included_child_is_sent(tmp_path: Path) -> None:
    (tmp_path / "docs" / "api").mkdir(parents=True)
    (tmp_path / "docs" / "api" / "keep.md").write_text("x")
    (tmp_path / "docs" / "drop.md").write_text("x")
    (tmp_path / ".dockerignore").write_text("docs\n!docs/api/keep.md\n")
    entries = context_entries(tmp_path, tmp_path / "Dockerfile")
    assert [e for e in entries if e.startswith("docs")] == ["docs", "docs/api", "docs/api/keep.md"]


def dockerfile_final_stage() -> list[tuple[str, list[str]]]:
    """(KEYWORD, shell words) per instruction of the Dockerfile's last stage."""
    steps: list[tuple[str, list[str]]] = []
    current = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, rest = (current + stripped).partition(" ")
        current = ""
        words = (
            [w.strip('[],"') for w in rest.split()] if rest.startswith("[") else shlex.split(rest)
        )
        steps = [] if keyword.upper() == "FROM" else [*steps, (keyword.upper(), words)]
    return steps


def test_every_mount_point_is_an_image_volume_owned_by_the_task_user(stack: Snapshot) -> None:
    """Fargate bind mounts are root-owned 0755 unless the image declares the path a VOLUME.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html: ECS copies
    the image's directory at a VOLUME path (owner included) into the volume. The directory must
    be chowned to the task user before the VOLUME line (changes after it are discarded).
    """
    steps = dockerfile_final_stage()
    volume_at = {w: i for i, (k, ws) in enumerate(steps) if k == "VOLUME" for w in ws}
    for name in ("worker-task", "scanner-task"):
        inputs = stack.named(name)["inputs"]
        declared = {v["name"] for v in inputs["volumes"]}
        for container in json.loads(inputs["containerDefinitions"]):
            assert ("USER", [container["user"]]) in steps, "the image runs as the task user"
            for mount in container["mountPoints"]:
                path = mount["containerPath"]
                assert mount["sourceVolume"] in declared
                assert path in volume_at, f"{path} is not a VOLUME in the image"
                chowned = [
                    i for i, (k, ws) in enumerate(steps)
                    if k == "RUN" and _chowns(ws, container["user"], path)
                ]  # fmt: skip
                assert chowned, f"{path} is not chowned to {container['user']}"
                assert max(chowned) < volume_at[path], f"{path} is chowned after its VOLUME"


def _chowns(words: list[str], user: str, path: str) -> bool:
    """Whether a RUN's words contain `chown [-R] <user> ... <path>` in one command."""
    commands = " ".join(words).replace("&&", ";").replace("||", ";").split(";")
    for command in commands:
        parts = command.split()
        if parts[:1] == ["chown"]:
            operands = [p for p in parts[1:] if not p.startswith("-")]
            if operands[:1] == [user] and os.path.normpath(path) in operands[1:]:
                return True
    return False
