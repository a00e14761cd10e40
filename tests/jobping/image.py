"""The container image as the Dockerfile describes it, read without Docker.

`image_files` follows the Dockerfile's COPY instructions over the build context that
`.dockerignore` leaves (`components.build_context`, Docker's own rules), stage by stage, to the
files of the final stage; `image_env`, `workdir`, `default_command` and `healthcheck` read the
final stage's ENV, WORKDIR, CMD and HEALTHCHECK. `top_level` and `imported_modules` list what the
image's Python code is made of and what it imports.
"""

from __future__ import annotations

import ast
import json
import shlex
from pathlib import Path

from components.build_context import context_entries

#: Modules that are development tooling or only installed for it: none may be in the image.
DEVELOPMENT_MODULES = frozenset(
    {
        "devtools", "components", "policy", "tests", "bench",
        "pulumi", "pulumi_aws", "pulumi_awsx", "pulumi_docker_build", "pulumi_policy",
        "moto", "pgserver", "rich", "pytest", "hypothesis", "matplotlib",
    }
)  # fmt: skip


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction; comments dropped, continuation lines joined."""
    found: list[tuple[str, str]] = []
    current = ""
    for line in dockerfile.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        keyword, _, arguments = (current + stripped).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        current = ""
    return found


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    """The instructions after the last FROM: what the image is made of."""
    steps = instructions(dockerfile)
    last = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last + 1 :]


def _copied(available: dict[str, Path], source: str, dest: str) -> dict[str, Path]:
    """What `COPY source dest` adds: a file, or a directory's contents under `dest`."""
    source = source.rstrip("/") or "/"
    added: dict[str, Path] = {}
    for path, origin in available.items():
        if path == source:
            added[dest + Path(path).name if dest.endswith("/") else dest] = origin
        elif path.startswith(source.rstrip("/") + "/"):
            added[dest.rstrip("/") + "/" + path[len(source.rstrip("/")) + 1 :]] = origin
    return added


def image_files(context: Path, dockerfile: Path) -> dict[str, Path]:
    """Absolute path in the image -> the context file it comes from, for every COPY'd file.

    Handles the forms the Dockerfile uses: `COPY [--from=STAGE] [--chmod=..] SRC... DEST`, with
    a stage named by `FROM image AS name` (a stage's files are only what COPY put there).
    """
    sent = {e: context / e for e in context_entries(context, dockerfile) if (context / e).is_file()}
    stages: dict[str, dict[str, Path]] = {}
    files: dict[str, Path] = {}
    for keyword, args in instructions(dockerfile.read_text()):
        words = args.split()
        if keyword == "FROM":
            files = {}
            named = len(words) >= 3 and words[-2].upper() == "AS"
            stages[words[-1] if named else str(len(stages))] = files
        elif keyword == "COPY":
            origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            *sources, dest = [w for w in words if not w.startswith("--")]
            available = stages[origin] if origin else sent
            for source in sources:
                files.update(_copied(available, source, dest))
    return files


def _final(dockerfile: Path, keyword: str) -> list[str]:
    return [args for kw, args in final_stage(dockerfile.read_text()) if kw == keyword]


def image_env(dockerfile: Path) -> dict[str, str]:
    """The final stage's ENV (`KEY=value` pairs), unexpanded."""
    env: dict[str, str] = {}
    for args in _final(dockerfile, "ENV"):
        env.update(pair.split("=", 1) for pair in shlex.split(args))  # type: ignore[misc]
    return env


def workdir(dockerfile: Path) -> str:
    """The final stage's last WORKDIR: where the image's commands run."""
    return _final(dockerfile, "WORKDIR")[-1]


def default_command(dockerfile: Path) -> list[str]:
    """The final stage's CMD (exec form)."""
    command: list[str] = json.loads(_final(dockerfile, "CMD")[-1])
    return command


def healthcheck(dockerfile: Path) -> list[str]:
    """The final stage's HEALTHCHECK command (exec form after CMD)."""
    command: list[str] = json.loads(_final(dockerfile, "HEALTHCHECK")[-1].split(" CMD ", 1)[1])
    return command


def top_level(files: dict[str, Path], root: str) -> set[str]:
    """The names directly under `root` in the image: its top-level packages, modules and files."""
    prefix = root.rstrip("/") + "/"
    return {path[len(prefix) :].split("/")[0] for path in files if path.startswith(prefix)}


def imported_modules(files: dict[str, Path]) -> dict[str, set[str]]:
    """Each image Python file -> the top-level modules its import statements name (any depth).

    `jobping.cli` names `devtools` only as a string, to forward on a checkout: that it refuses in
    the image is `test_development_commands_are_refused_in_the_image`.
    """
    found: dict[str, set[str]] = {}
    for path, origin in files.items():
        if not path.endswith(".py"):
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(origin.read_text(encoding="utf-8"), filename=path)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[path] = names
    return found
