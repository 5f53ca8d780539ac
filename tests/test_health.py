"""/healthz says 503, with the reason, when the database would refuse a write: a read-only
database (SQLite opened query-only or read-only, PostgreSQL in read-only transactions) or a
SQLite file whose disk is full. It said `db: ok` while every write failed on a full disk."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import HEALTH_PATH, SlackHttpFrontDoor, start_http
from bot.db import MIN_FREE_BYTES, create_engine, database_refuses_writes, is_sqlite
from bot.deps import build_deps
from bot.migrate import upgrade_to_head
from bot.settings import Settings


async def healthz(settings: Settings, engine: AsyncEngine | None = None) -> tuple[int, Any]:
    deps = build_deps(settings)
    if engine is not None:
        await deps.engine.dispose()
        deps.engine = engine
    server = await start_http(SlackHttpFrontDoor(None, deps), host="127.0.0.1", port=0)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(server.url + HEALTH_PATH) as response,
        ):
            return response.status, await response.json()
    finally:
        await server.stop()
        await deps.close()


def read_only_engine(database_url: str) -> AsyncEngine:
    """The suite's database, refusing writes as a read-only one does: SQLite with query_only,
    PostgreSQL with every transaction read-only (a standby, or a role set so)."""
    if is_sqlite(database_url):
        engine = create_engine(database_url)

        @event.listens_for(engine.sync_engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        return engine
    url = make_url(database_url).update_query_dict(
        {"options": "-c default_transaction_read_only=on"}
    )
    return create_engine(url.render_as_string(hide_password=False))


async def test_healthz_is_503_when_the_database_refuses_writes(
    settings: Settings, database_url: str, engine: AsyncEngine
) -> None:
    assert await healthz(settings) == (200, {"ok": True, "db": "ok"})
    read_only = read_only_engine(database_url)
    assert await database_refuses_writes(read_only) == "database is read-only"
    assert await healthz(settings, read_only) == (
        503,
        {"ok": False, "db": "database is read-only"},
    )


async def test_healthz_is_503_for_a_sqlite_file_opened_read_only(
    settings: Settings, migrated_file: Path
) -> None:
    path = migrated_file
    read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert await database_refuses_writes(read_only) == "database is read-only"
    status, body = await healthz(settings, read_only)
    assert (status, body["db"]) == (503, "database is read-only")


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)  # noqa: S603, S607


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    with small_tmpfs(tmp_path / "small", "24m") as folder:
        yield folder


@pytest.fixture
def sqlite_on(full_disk: Path) -> tuple[str, Path]:
    url = f"sqlite:///{full_disk / 'bot.db'}"
    upgrade_to_head(url)
    return url, full_disk


@pytest.fixture
def migrated_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


async def test_healthz_is_503_when_the_disk_under_sqlite_is_full(
    settings: Settings, sqlite_on: tuple[str, Path]
) -> None:
    url, folder = sqlite_on
    on_small_disk = settings.model_copy(update={"database_url": url})
    assert await healthz(on_small_disk) == (200, {"ok": True, "db": "ok"})
    with (folder / "filler").open("wb") as filler, contextlib.suppress(OSError):
        while True:  # until the file system says it is full
            filler.write(b"\0" * (1024 * 1024))
            filler.flush()
    statvfs = os.statvfs(folder)
    assert statvfs.f_bavail * statvfs.f_frsize < MIN_FREE_BYTES
    assert await healthz(on_small_disk) == (503, {"ok": False, "db": "no free disk space"})
    (folder / "filler").unlink()
    assert await healthz(on_small_disk) == (200, {"ok": True, "db": "ok"})


async def test_concurrent_polls_share_one_probe(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/healthz is polled, sometimes by several watchers: at most one probe runs at a time and
    its answer is reused for a second."""
    import bot.app

    probes = 0

    async def counted(engine: AsyncEngine, *, timeout: float) -> str | None:
        nonlocal probes
        probes += 1
        await asyncio.sleep(0.05)  # a probe in flight while the other polls arrive
        return None

    monkeypatch.setattr(bot.app, "database_refuses_writes", counted)
    deps = build_deps(settings)
    server = await start_http(SlackHttpFrontDoor(None, deps), host="127.0.0.1", port=0)
    try:
        async with aiohttp.ClientSession() as http:

            async def poll() -> int:
                async with http.get(server.url + HEALTH_PATH) as response:
                    return response.status

            assert await asyncio.gather(*(poll() for _ in range(20))) == [200] * 20
            assert await poll() == 200
    finally:
        await server.stop()
        await deps.close()
    assert probes == 1
