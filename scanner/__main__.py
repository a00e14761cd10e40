"""`python -m scanner`: see `scanner.main`."""

from __future__ import annotations

from scanner.main import main

raise SystemExit(main())
