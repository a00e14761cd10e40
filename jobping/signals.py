"""Stop signals, handled the same way by the worker and the scanner (STYLE 13).

The first SIGTERM or SIGINT sets a stop event: the program finishes what it is doing (the
worker drains, the scanner ends its scan) and returns. A second one exits at once, with
128 + the signal number: ECS sends SIGKILL after the stop timeout anyway, and someone pressing
Ctrl-C twice does not want to wait for a drain.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_signal_handlers(prog: str) -> threading.Event:
    """Handle SIGTERM and SIGINT: the first sets the returned event, a second exits at once.

    Call from the main thread (Python runs signal handlers there), once, in `main()`.

    Args:
        prog: the program's name, for the one line a second signal writes to stderr.
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            # Neither logging nor an exception: the logging lock may be held by the code this
            # interrupted, and an exception could be caught, or wait for cleanup that hangs.
            os.write(2, f"{prog}: second signal {signum}, exiting now\n".encode())
            os._exit(128 + signum)
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    return stop
