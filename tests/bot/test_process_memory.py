"""bot/process_memory.py: the web process's C heap settings take effect where the C library is glibc."""
from __future__ import annotations

import subprocess
import sys

from bot import process_memory


def test_freed_memory_is_given_back_on_glibc() -> None:
    assert process_memory.release_freed_memory() is True  # this machine's Python runs on glibc


def test_the_arenas_are_capped_in_a_fresh_process() -> None:
    """mallopt says whether it took the cap; done in a child so this test process keeps its own."""
    code = "from bot.process_memory import limit_malloc_arenas; print(limit_malloc_arenas())"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "True"


def test_the_web_server_command_caps_them_before_numpy_is_imported() -> None:
    """`python -m bot serve` caps the arenas first: NumPy starts threads when imported."""
    code = ("import sys, runpy; sys.argv = ['bot', 'serve']; import bot.process_memory as memory\n"
            "def capped(): print('numpy' in sys.modules); raise SystemExit(0)\n"
            "memory.limit_malloc_arenas = capped; runpy.run_module('bot', run_name='__main__')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
