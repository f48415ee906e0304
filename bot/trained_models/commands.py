"""``python -m bot train`` and ``python -m bot model list | activate | rollback``: the console's Models page
from the terminal.

    python -m bot train                 # one job in the foreground, at low priority; prints its log's path
    python -m bot model list            # every model: when, from what, its figures; * marks the active one
    python -m bot model activate ID     # every web process switches to it within seconds
    python -m bot model rollback        # back to the model that answered before

Activations are recorded with who made them (``--by``, default the terminal's user).
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import Engine

from actions.services.database import create_database_engine
from actions.services.migrations import migrate
from bot.trained_models.figures import headline
from bot.trained_models.registry import ModelError, ModelRegistry, write_stamp
from bot.trained_models.training import TrainingError, TrainingJobs, training_inputs


def add_commands(commands: Any, settings: Callable[[], Any]) -> None:
    """Register ``train`` and ``model`` on the top-level parser's sub-parsers."""
    p = commands.add_parser("train", help="train a model from the repository's data, measure it, keep it")
    p.add_argument("--job", type=int, help=argparse.SUPPRESS)  # the console's job, in its own process
    p.add_argument("--by", default=getpass.getuser(), help="who asked (shown with the model)")
    p.set_defaults(func=lambda args: _run(args, settings, _train))
    p = commands.add_parser("model", help="the trained models and which one answers")
    model_commands = p.add_subparsers(dest="model_command", required=True)
    p = model_commands.add_parser("list", help="every model, the newest first; * answers now")
    p.set_defaults(func=lambda args: _run(args, settings, _list))
    p = model_commands.add_parser("activate", help="make a model the one that answers")
    p.add_argument("id", type=int, help="the model's number in `model list`")
    p.add_argument("--by", default=getpass.getuser())
    p.set_defaults(func=lambda args: _run(args, settings, _activate))
    p = model_commands.add_parser("stamp", help=argparse.SUPPRESS)  # `make train`: what the model came from
    p.add_argument("path", type=Path)
    p.set_defaults(func=lambda args: _stamp(args, settings()))
    p = model_commands.add_parser("rollback", help="go back to the model that answered before")
    p.add_argument("--by", default=getpass.getuser())
    p.set_defaults(func=lambda args: _run(args, settings, _rollback))


def _stamp(args: argparse.Namespace, settings: Any) -> None:
    print(f"Wrote {write_stamp(args.path, training_inputs(settings))}")


def _run(args: argparse.Namespace, settings: Callable[[], Any],
         command: Callable[[argparse.Namespace, Any, Engine], int]) -> None:
    chosen = settings()
    engine = create_database_engine(chosen.database_url)
    try:
        migrate(engine)
        status = command(args, chosen, engine)
    except (ModelError, TrainingError) as error:
        print(f"error: {error}", file=sys.stderr)
        status = 1
    finally:
        engine.dispose()
    if status:
        sys.exit(status)


def _train(args: argparse.Namespace, settings: Any, engine: Engine) -> int:
    jobs = TrainingJobs(engine, settings)
    job = jobs.get(args.job) if args.job else jobs.create(args.by)
    if job is None:
        raise TrainingError(f"no job {args.job}")
    if not args.job:
        print(f"Job {job.id}: training at low priority; the log is {job.log_file}")
    model = jobs.run(job.id)
    finished = jobs.get(job.id)
    if model is None:
        print(f"Job {job.id} failed: {finished.problem if finished else ''} (log: {job.log_file})",
              file=sys.stderr)
        return 1
    print(f"Job {job.id} done: model {model.id} ({model.model_id}). Compare it in the console or with "
          f"`python -m bot model list`; activate it with `python -m bot model activate {model.id}`.")
    return 0


def _list(args: argparse.Namespace, settings: Any, engine: Engine) -> int:
    registry = ModelRegistry(engine)
    active = registry.active()
    models = registry.all()
    if not models:
        print("No model yet: `make train`, or `python -m bot train`.")
    for model in models:
        mark = "*" if active is not None and model.id == active.id else " "
        source = model.commit or model.data_hash[:12] or "unknown data"
        print(f"{mark} {model.id:>3}  {model.trained_at:%Y-%m-%d %H:%M} UTC  {model.model_id[:12]}  "
              f"from {source}  by {model.trained_by}  {headline(model.figures)}")
    return 0


def _activate(args: argparse.Namespace, settings: Any, engine: Engine) -> int:
    model = ModelRegistry(engine).activate(args.id, args.by)
    print(f"Model {model.id} ({model.model_id[:12]}) is active; running web processes switch to it within "
          f"{settings.model_check_seconds:g} s.")
    return 0


def _rollback(args: argparse.Namespace, settings: Any, engine: Engine) -> int:
    model = ModelRegistry(engine).rollback(args.by)
    print(f"Back to model {model.id} ({model.model_id[:12]}), trained {model.trained_at:%Y-%m-%d %H:%M} UTC.")
    return 0
