"""`python -m worker`: see `worker.main`."""

from __future__ import annotations

from worker.main import main

raise SystemExit(main())
