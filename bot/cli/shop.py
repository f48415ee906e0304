"""``python -m bot check-shop | build-nlp``: the shop profile checked, and the spaCy pipeline built from
it."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.configuration import read_shop


def add_commands(commands: Any) -> None:
    p = commands.add_parser("check-shop", help="validate a shop profile")
    p.add_argument("file", nargs="?", default="shop.yml")
    p.set_defaults(func=check_shop)
    p = commands.add_parser("build-nlp", help="build the spaCy pipeline from shop.yml")
    p.add_argument("--shop", default="shop.yml")
    p.add_argument("--out", default="build/spacy/en_shop")
    p.set_defaults(func=build_nlp)


def check_shop(args: argparse.Namespace) -> None:
    shop = read_shop(Path(args.file))
    print(f"{args.file}: OK ({shop.name}, {len(shop.shipping_options)} shipping options, "
          f"{len(shop.catalog)} products)")


def build_nlp(args: argparse.Namespace) -> None:
    from bot.nlp.pipeline import write_pipeline

    target = Path(args.out)
    if write_pipeline(read_shop(Path(args.shop)), target):
        print(f"spaCy pipeline written to {target}")
    else:
        print(f"spaCy pipeline {target} is up to date (catalog and order numbers unchanged)")
