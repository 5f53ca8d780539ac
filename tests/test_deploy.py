"""The reverse-proxy examples in deploy/ are valid for the servers they are written for (checked
where those servers are installed) and keep the timeouts docs/OPERATIONS.md explains."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_both_proxies_fail_fast_and_route_only_slacks_endpoint() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    # Slack waits 3 s: connecting to a bot that is down must give up well before.
    assert re.search(r"^\s*dial_timeout 2s$", caddy, re.M)
    assert re.search(r"^\s*proxy_connect_timeout 2s;$", nginx, re.M)
    assert re.search(r"^\s*@slack path /slack/events$", caddy, re.M)
    assert re.findall(r"^\s*location (.*) \{$", nginx, re.M) == ["= /slack/events", "/"]
    assert re.search(r"^\s*respond 404$", caddy, re.M)
    assert re.search(r"^\s*return 404;$", nginx, re.M)


@pytest.mark.skipif(shutil.which("caddy") is None, reason="Caddy is not installed here")
def test_the_caddyfile_is_valid() -> None:
    checked = subprocess.run(  # noqa: S603 - our own file, a fixed command
        [
            str(shutil.which("caddy")),
            "validate",
            "--adapter",
            "caddyfile",
            "--config",
            str(DEPLOY / "Caddyfile"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


@pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx (or openssl, for a throwaway certificate) is not installed here",
)
def test_the_nginx_server_block_is_valid(tmp_path: Path) -> None:
    certificate = "-x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=partnerbot.example.com"
    subprocess.run(  # noqa: S603 - a fixed command
        [
            str(shutil.which("openssl")),
            "req",
            *certificate.split(),
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    server = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    (tmp_path / "partnerbot.conf").write_text(
        server.replace("/etc/letsencrypt/live/partnerbot.example.com", str(tmp_path)),
        encoding="utf-8",
    )
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/partnerbot.conf; }}\n",
        encoding="utf-8",
    )
    checked = subprocess.run(  # noqa: S603 - our own file, a fixed command
        [str(shutil.which("nginx")), "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]
