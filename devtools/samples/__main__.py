"""`python -m devtools.samples`: serve the sample boards and write a sources file for them."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from devtools.samples import demo_sources
from devtools.samples.server import serve_samples


def main() -> int:
    """Serve until SIGTERM/SIGINT; the first line on stdout is the base URL."""
    parser = argparse.ArgumentParser(prog="python -m devtools.samples", description=__doc__)
    parser.add_argument("--sources-out", type=Path, help="write a sources file for the boards")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with serve_samples() as base_url:
        if args.sources_out:
            args.sources_out.write_text(json.dumps(demo_sources(base_url), indent=2))
        print(base_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
