"""The JobPing Pulumi program: load the stack settings, build the stack, export its outputs."""

from __future__ import annotations

import pulumi

from components.settings import load_settings
from components.stack import build_stack

for output_name, output_value in build_stack(load_settings()).items():
    pulumi.export(output_name, output_value)
