"""The policy pack: `pulumi preview --policy-pack policy` (run from the repository root).

The pack runs with this directory as its working directory, so the repository root is put on
the import path to reach the `policy` package the tests use too.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policy.pack import policies

PolicyPack(name="jobping-security", policies=policies())
