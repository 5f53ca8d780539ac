"""What the idle `partnerbot run` holds, by module family: a fresh interpreter imports each
family in the order `run` imports them and reads its resident memory (VmRSS) after each, so a
family's figure is what it adds on top of those before it. bench/memory.py's idle reading minus
the last line here is what start-up's work keeps (engine, connections, caches, the app).
Usage: python bench/memory_families.py [--output PATH]; Linux only (/proc); see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "memory_families.json"

# (family, modules); a bare Bolt app (bench/bare_bolt.py) holds the first three.
FAMILIES = [
    (
        "Python and the standard library Bolt needs too",
        ["asyncio", "argparse", "logging", "json", "ssl", "socket", "hmac", "datetime", "pathlib"],
    ),
    ("aiohttp (client and web server)", ["aiohttp", "aiohttp.web"]),
    (
        "slack_sdk and slack_bolt (the async app)",
        ["slack_sdk.web.async_client", "slack_bolt.async_app"],
    ),
    (
        "pydantic and pydantic_core",
        ["pydantic", "pydantic.main", "pydantic.types", "pydantic.networks"],
    ),
    ("pydantic-settings", ["pydantic_settings"]),
    ("SQLAlchemy core", ["sqlalchemy", "sqlalchemy.sql", "sqlalchemy.engine"]),
    ("SQLAlchemy ORM", ["sqlalchemy.orm"]),
    (
        "SQLAlchemy asyncio, SQLite dialect, aiosqlite",
        ["sqlalchemy.ext.asyncio", "sqlalchemy.dialects.sqlite.aiosqlite", "aiosqlite"],
    ),
    ("prometheus_client", ["prometheus_client"]),
    ("APScheduler", ["apscheduler.schedulers.asyncio"]),
    ("bot.settings", ["bot.settings"]),
    ("bot.models (the ORM mapping)", ["bot.models"]),
    ("bot.db, deps, delivery, store", ["bot.db", "bot.deps", "bot.delivery"]),
    ("bot.handlers with services, blocks, flows", ["bot.handlers"]),
    ("bot.scheduler, app, cli, migrate", ["bot.scheduler", "bot.app", "bot.cli", "bot.migrate"]),
]

# Run in a child: this script's own imports must not count.
CHILD = """
import gc, importlib, json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
readings = [("the interpreter", rss())]
for name, modules in json.loads(sys.argv[1]):
    for module in modules:
        importlib.import_module(module)
    gc.collect()
    readings.append((name, rss()))
print(json.dumps(readings))
"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        parser.error("this bench reads /proc/self/status: Linux only")
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", CHILD, json.dumps(FAMILIES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
        env={k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"},
    )
    readings = json.loads(done.stdout.splitlines()[-1])
    rows, before = [], 0.0
    print("\nresident memory added by each module family, imported in `run`'s order (MB)")
    for name, rss in readings:
        rows.append({"family": name, "rss_mb": round(rss, 1), "added_mb": round(rss - before, 1)})
        print(f"  {name:50} {rss - before:+6.1f} {rss:7.1f}")
        before = rss
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"families": rows}, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
