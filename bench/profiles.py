"""Read py-spy's raw (collapsed-stack) output and list where the samples went."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"\s*\(([^()]*?)(?::\d+)?\)$")


def _frame(text: str) -> str:
    """`func (path/to/module.py:12)` → `func (module.py)`."""
    found = _LINE.search(text)
    if found is None:
        return text.strip()
    where = found.group(1).rsplit("/", 1)[-1]
    return f"{text[: found.start()].strip()} ({where})"


def top_entries(raw: Path, count: int = 20) -> str:
    """Self and inclusive sample shares of the busiest functions, as text."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")[1:]]  # drop the process/thread frame
        frames = [f for f in frames if not f.startswith("thread (")]
        if not frames:
            continue
        weight = int(samples)
        total += weight
        own[frames[-1]] += weight
        for frame in set(frames):
            inclusive[frame] += weight
    lines = [f"{total} samples (GIL holder)", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in own.most_common(count)]
    lines += ["", "total %  function (self + callees)"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in inclusive.most_common(count)]
    return "\n".join(lines) + "\n"
