"""The load balancer's configuration (bot/cluster/nginx.py), checked by nginx itself."""
from __future__ import annotations

import re
import subprocess

from sanic.config import DEFAULT_CONFIG

from bot.cluster.nginx import NODE_COOKIE, Backend, nginx_config
from bot.cluster.processes import find_nginx

WEBS = [Backend("web1", 40001), Backend("web2", 40002), Backend("web3", 40003)]
ACTIONS = [Backend("actions1", 40011), Backend("actions2", 40012)]


def config(tmp_path) -> str:
    return nginx_config("127.0.0.1", 40000, WEBS, 40010, ACTIONS, tmp_path, run_as_root=False)


def test_nginx_accepts_it(tmp_path):
    (tmp_path / "nginx.conf").write_text(config(tmp_path))
    check = subprocess.run([find_nginx(), "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stderr


def test_each_process_has_the_others_as_backup_and_the_cookie_picks_it(tmp_path):
    text = config(tmp_path)
    web2 = re.search(r"upstream web2 \{(.*?)\}", text, re.S).group(1)
    assert "127.0.0.1:40002 max_fails=2 fail_timeout=5s;" in web2
    assert "127.0.0.1:40001 max_fails=2 fail_timeout=5s backup;" in web2
    assert "127.0.0.1:40003 max_fails=2 fail_timeout=5s backup;" in web2
    assert f"map $cookie_{NODE_COOKIE} $web_pool" in text and "        web3 web3;" in text
    assert "~127[.]0[.]0[.]1:40003$ web3;" in text  # the cookie's next value: who answered
    assert "proxy_next_upstream error timeout non_idempotent;" in text  # action calls only
    assert text.count("non_idempotent") == 1


def test_idle_upstream_connections_are_dropped_before_sanic_drops_them(tmp_path):
    timeouts = [int(t) for t in re.findall(r"keepalive_timeout (\d+)s;", config(tmp_path))]
    assert len(timeouts) == 1 + len(WEBS) + 1 and max(timeouts) < DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"]
