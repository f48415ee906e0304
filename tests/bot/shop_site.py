"""A shop's own website on a second local origin, embedding the widget with the one script tag."""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = {
    "/": ("Home", "Fresh coffee, delivered."),
    "/beans.html": ("Beans", "Our single origins, roasted every Tuesday."),
}


def page(path: str, bot_url: str, script_options: str) -> bytes:
    title, lead = PAGES[path]
    nav = " ".join(f'<a href="{href}">{html.escape(name)}</a>' for href, (name, _) in PAGES.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · a shop's own site</title><link rel="icon" href="data:,"></head>
<body><nav aria-label="Site">{nav}</nav><main><h1>{title}</h1><p>{lead}</p>
<p><button type="button" id="host-button">A button of the host page</button></p></main>
<script src="{bot_url}/widget.js" {script_options} defer></script>
</body></html>""".encode()


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args, bot_url: str, script_options: str, **kwargs) -> None:
        self.bot_url = bot_url
        self.script_options = script_options
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path not in PAGES:
            self.send_error(404)
            return
        body = page(self.path, self.bot_url, self.script_options)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@dataclass
class ShopSite:
    url: str
    server: ThreadingHTTPServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_shop_site(port: int, bot_url: str, script_options: str = "") -> ShopSite:
    handler = partial(_Handler, bot_url=bot_url, script_options=script_options)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return ShopSite(f"http://127.0.0.1:{port}", server, thread)
