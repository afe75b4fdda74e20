"""Take the README's screenshots from a fresh demo organisation.

    python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Builds the demo organisation on a throwaway SQLite database (`merito migrate`, `merito demo`,
`merito recovery init`),
serves it with `merito serve` on a free loopback port, and drives headless Chromium (Playwright)
through a few pages in Spanish: the HR planner's dashboard, the organisation's gap heatmap, and
the reporting channel's public page. Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# (file name, path, who signs in or None)
SHOTS = [
    ("dashboard.png", "/", "hr_planner"),
    ("heatmap.png", "/competencies/gaps", "hr_planner"),
    ("reporting.png", "/report", None),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _merito(*args: str, env: dict[str, str]) -> None:
    command = shutil.which("merito") or sys.exit("the `merito` command is not installed")
    subprocess.run([command, *args], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--chromium", default=os.environ.get("MERITO_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from backend.demo import demo_email, demo_password

    with tempfile.TemporaryDirectory(prefix="merito-shots-") as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "MERITO_DATABASE_URL": f"sqlite:///{Path(tmp) / 'merito.db'}",
            "MERITO_DATA_DIR": tmp,
            "MERITO_ENVIRONMENT": "development",
            "MERITO_SCHEDULER": "false",
        }
        _merito("migrate", env=env)
        _merito("demo", env=env)
        _merito("recovery", "init", env=env)  # the reporting channel opens once this exists
        server = subprocess.Popen(  # noqa: S603 - fixed argument list
            [shutil.which("merito") or "merito", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    sys.exit("the server did not start")
                time.sleep(0.3)
            args.out.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
                )
                signed_in: dict[str | None, object] = {}
                for name, path, role in SHOTS:
                    if role not in signed_in:
                        context = browser.new_context(
                            locale="es-MX", viewport={"width": 1280, "height": 1000}
                        )
                        page = context.new_page()
                        if role is not None:
                            page.goto(f"{base}/login")
                            page.fill("input[name=email]", demo_email(role))
                            page.fill("input[name=password]", demo_password(role))
                            page.click("button[type=submit].primary")
                            page.wait_for_load_state("networkidle")
                            _pass_second_step(page)
                        signed_in[role] = page
                    page = signed_in[role]
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(args.out / name), full_page=False)
                    print(f"{args.out / name}: {path}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def _pass_second_step(page) -> None:
    """Enrol the demo account's authenticator (first sign-in) and enter its current code."""
    if "/login/second-factor" not in page.url:
        return
    import pyotp

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#f-code", pyotp.TOTP(secret).now())
    page.click("form[action='/login/second-factor'] button[type=submit]")
    page.wait_for_load_state("networkidle")


if __name__ == "__main__":
    main()
