"""The interpreter's optimisation level, the one seam behind running Partnerbot with `-OO`.

The Docker image sets PYTHONOPTIMIZE=2 and compiles its bytecode at that level at build time:
code objects without docstrings or assert statements take ~6 MB less resident memory in the idle
process (docs/PERFORMANCE.md, "Idle memory"). Nothing in Partnerbot reads a docstring, and its
asserts only narrow types, so behaviour is the same. PYTHONOPTIMIZE=0 turns it off.

The start-up self-check says which level runs, and warns when the bytecode for that level was
not cached: each such module was compiled at start, which costs the memory the level saves.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

log = logging.getLogger("bot.interpreter")

# Below this share of imported modules compiled at start, the cost is noise (a module or two
# written since the image was built).
UNCACHED_SHARE_WARNED = 0.05


@dataclass(frozen=True)
class BytecodeCache:
    modules: int  # imported modules that come from a source file
    uncached: int  # of those, how many had no bytecode cached for this level

    @property
    def mostly_uncached(self) -> bool:
        return self.modules > 0 and self.uncached / self.modules > UNCACHED_SHARE_WARNED


def bytecode_cache(
    modules: Iterable[ModuleType], exists: Callable[[str], bool] | None = None
) -> BytecodeCache:
    """How many of `modules` (loaded from source files) have bytecode cached for the running
    optimisation level: a module's `__cached__` names that file, whether or not it exists."""
    exists = exists or os.path.exists
    counted = uncached = 0
    for module in modules:
        spec = getattr(module, "__spec__", None)
        cached = getattr(spec, "cached", None) if spec is not None else None
        if not cached or not getattr(spec, "has_location", False):
            continue
        counted += 1
        if not exists(cached):
            uncached += 1
    return BytecodeCache(counted, uncached)


def check_interpreter(optimize: int | None = None) -> BytecodeCache | None:
    """The start-up self-check: with PYTHONOPTIMIZE (or -O) on, one line naming the level and,
    when most modules were compiled at start, a warning saying how to cache them. Says nothing
    at level 0, the interpreter's default."""
    level = sys.flags.optimize if optimize is None else optimize
    if level == 0:
        return None
    stripped = "asserts and docstrings" if level >= 2 else "asserts"
    log.info(
        f"python optimisation level {level}: {stripped} stripped (PYTHONOPTIMIZE=0 keeps them)"
    )
    cache = bytecode_cache(list(sys.modules.values()))
    if cache.mostly_uncached:
        log.warning(
            f"{cache.uncached} of {cache.modules} modules had no bytecode cached for level "
            f"{level} and were compiled at start, which costs the memory the level saves: run "
            f"`python -m compileall -o {level}` over the installation (the Docker image does)",
        )
    return cache
