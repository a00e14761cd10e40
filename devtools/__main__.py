"""`python -m devtools`: see `devtools.cli`."""

from __future__ import annotations

from devtools.cli import main

raise SystemExit(main())
