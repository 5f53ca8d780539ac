"""A bare Bolt app in a process of its own: the baseline the benches measure `partnerbot run`
against. Its listeners do nothing but ack, except that a `message` event is answered with one
`chat.postMessage` to its sender, the same one Web API call Partnerbot's reply to a DM is, so a
bench sees at the (fake) Slack that the listener ran, exactly as it sees the bot's reply.

Run as `python bench/bare_bolt.py` (`bare_bolt_run` below starts it so) with
SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL and PORT (0: any free port) set; it logs
the port it got as JSON, in the same "listening for Slack" line the bot writes, and stops on
SIGTERM. It imports nothing from the bot (`bare_bolt_run`, which the benches call, imports the
bot's process helpers only when called), so its memory and start-up are Bolt's alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

if TYPE_CHECKING:
    from bot.sandbox.bot_process import ChildProcess

ANY = re.compile(".*")
EVENTS_PATH = "/slack/events"  # the bot's own (bot.app.EVENTS_PATH), so one URL shape serves both
HEALTH_PATH = "/healthz"
DONE_TEXT = "noted"
SCRIPT = str(Path(__file__).resolve())


@contextlib.asynccontextmanager
async def bare_bolt_run(
    env: dict[str, str], cwd: Path, http: aiohttp.ClientSession
) -> AsyncIterator[ChildProcess]:
    """The benches' baseline, this file run as a script: a bare Bolt app whose listeners only
    ack, and which answers a `message` event with one chat.postMessage to its sender. It reads
    the Slack settings and PORT of `bot_env`; yielded once it answers."""
    from bot.sandbox.bot_process import healthy

    argv = [sys.executable, SCRIPT]
    async with healthy(argv, "the bare Bolt app", env, cwd, http) as child:
        yield child


def build_bare_app(token: str, signing_secret: str, api_url: str) -> AsyncApp:
    """Every command, click and view submission acked; a message event acked, then answered."""
    client = AsyncWebClient(token=token, base_url=api_url)
    app = AsyncApp(client=client, signing_secret=signing_secret)

    async def just_ack(ack: AsyncAck) -> None:
        await ack()

    async def answer(event: dict[str, Any], client: AsyncWebClient) -> None:
        # Bolt acks an event before its listener runs; this call is how the bench sees it ran.
        await client.chat_postMessage(channel=str(event["user"]), text=DONE_TEXT)

    app.command(ANY)(just_ack)
    app.action(ANY)(just_ack)
    app.view(ANY)(just_ack)
    app.event("message")(answer)
    return app


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def serve_bare(port: int) -> None:
    app = build_bare_app(
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_SIGNING_SECRET"],
        os.environ["SLACK_API_URL"],
    )
    # Bolt's own aiohttp request handler, on a socket bound here so that port 0 can be reported.
    server = app.web_app(path=EVENTS_PATH)
    server.router.add_get(HEALTH_PATH, health)
    runner = web.AppRunner(server, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", port))
    sock.setblocking(False)
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}{EVENTS_PATH}"
    print(json.dumps({"level": "info", "message": "listening for Slack", "url": url}), flush=True)
    await stop.wait()
    await runner.cleanup()
    print(json.dumps({"level": "info", "message": "stopped"}), flush=True)


if __name__ == "__main__":
    asyncio.run(serve_bare(int(os.environ.get("PORT", "0"))))
