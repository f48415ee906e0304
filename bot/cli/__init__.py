"""Command line: ``python -m bot <group> …``, one module per group of commands.

    run | serve                                   servers.py
    run-cluster                                   cluster.py
    check-shop | build-nlp                        shop.py
    orders import FILE | orders seed              orders.py
    catalog import FILE | list | clear            catalog.py
    owner add EMAIL [--role owner|trainer|both]   owners.py
    digest [--dry-run] [--force]                  digest.py
    report --since DATE …                         report.py
    customer export|delete EMAIL | sweep         customers.py
    channels check | telegram-webhook URL         channels.py
    inbox list | label | dismiss                  bot/trainer/inbox_commands.py
    story export CONVERSATION_ID                  bot/trainer/story_commands.py
    train | model list | activate | rollback      bot/trained_models/commands.py

Each module registers its group with ``add_commands``; what they share (settings, shop profile, the error
exit) is configuration.py.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from bot.cli import catalog, channels, cluster, customers, digest, orders, owners, report, servers, shop
from bot.cli.configuration import read_settings
from bot.trained_models import commands as model_commands
from bot.trainer import inbox_commands, story_commands


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description="The shop's support assistant.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (servers, cluster, shop, orders, catalog, owners, customers, channels, digest, report):
        group.add_commands(commands)
    for trainer_group in (inbox_commands, story_commands, model_commands):
        trainer_group.add_commands(commands, read_settings)
    args = parser.parse_args(argv)
    args.func(args)
