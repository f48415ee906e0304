"""``python -m bot …``: the command line (bot/cli/)."""
import sys

from bot.process_memory import limit_malloc_arenas

if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    limit_malloc_arenas()  # the web server: before any import starts a thread (NumPy's do)

from bot.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
