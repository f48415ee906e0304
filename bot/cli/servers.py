"""``python -m bot run | serve``: the two servers.

``run`` is what ``make run`` calls: it checks shop.yml, starts the action server and the web server as two
processes, prints the URL, and stops both on Ctrl-C. ``serve`` is the web server alone.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List

from actions.services.shared_secret import load_or_create_secret
from bot.cli.configuration import fail, read_settings, read_shop
from bot.cli.orders import seed
from bot.cluster.processes import healthy


def add_commands(commands: Any) -> None:
    p = commands.add_parser("run", help="start the action server and the web server")
    p.add_argument("--port", type=int)
    p.set_defaults(func=run)
    p = commands.add_parser("serve", help="start the web server only")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--model", help="model archive (default models/shop.tar.gz)")
    p.add_argument("--enable-api", action="store_true",
                   help="expose Rasa's HTTP API (needs RASA_API_TOKEN or RASA_JWT_SECRET)")
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> None:
    settings = read_settings(port=args.port, host=args.host, enable_api=args.enable_api or None,
                         model_path=Path(args.model) if args.model else None)
    shop = read_shop(settings.shop_file)
    if not settings.model_path.is_file():
        raise fail(f"no trained model at {settings.model_path}; run `make train` first")
    from bot.server_logging import configure_server_logging

    configure_server_logging(settings.log_level)
    # TensorFlow requires jax and imports it for TF Lite when installed; the web server converts nothing to
    # TF Lite. Left out, the process holds 66 MB less (issue 16).
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    from bot.rasa_channels import defer_builtin_channels

    defer_builtin_channels()  # Rasa's other channels and their SDKs: only if credentials.yml names one
    from bot.app import create_app  # imports Rasa and TensorFlow: only when serving

    app = create_app(settings, shop)
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False, motd=False)


def _spawn(command: List[str]) -> subprocess.Popen:
    return subprocess.Popen(command, start_new_session=True)


def run(args: argparse.Namespace) -> None:
    """Start the action server and the web server; stop both when either stops or on Ctrl-C."""
    settings = read_settings(port=args.port)
    if settings.web_workers > 1 or settings.action_workers > 1:
        from bot.cli.cluster import supervise

        return supervise(settings, settings.web_workers, settings.action_workers)
    shop = read_shop(settings.shop_file)
    if seed(settings, shop):
        print("  First start: added the demo orders (README.md, \"Try the order flows\").", flush=True)
    # Both processes read the secret the web server signs its calls to the action server with.
    load_or_create_secret(settings.action_secret, settings.action_secret_file)
    python = sys.executable
    processes = [
        _spawn([python, "-m", "actions.server", "--port", str(settings.action_port)]),
        _spawn([python, "-m", "bot", "serve", "--port", str(settings.port)]),
    ]
    url = f"http://{settings.host}:{settings.port}/"
    print(f"\n  Starting the {shop.name} assistant (loading the model takes a few seconds)…\n", flush=True)
    stopping = False
    ready = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in processes):
            if not ready and healthy(url + "health"):
                ready = True
                print(f"\n  Ready: open {url} to chat with the bot (Ctrl-C stops it)\n", flush=True)
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGINT, None)]
    if failed and not stopping:
        raise SystemExit(1)
