"""`python -m jobping`: see `jobping.cli`."""

from __future__ import annotations

from jobping.cli import main

raise SystemExit(main())
