"""Short-lived child processes for work whose memory the bot should not keep (the theme engine,
the migrations at start): one worker, started with `spawn` (a clean interpreter, not a fork of
the bot), for one job. The worker exits when the bot does, even if the bot is killed (SIGKILL)
mid-job: otherwise it would wait on its queue for good and hold the bot's stdout and stderr."""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import wait


def spawn_pool() -> ProcessPoolExecutor:
    """A pool of one spawned worker; use it in a `with` block for one job."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
    )


def _exit_with_parent() -> None:
    """In the worker: a daemon thread that ends the process once the parent is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child: nothing to watch
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
