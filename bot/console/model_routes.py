"""The trainer's Models: train a new model, compare it with the active one, activate it, roll back.

    GET  /console/models                    the job, every model, the activations
    GET  /console/models/<id>               the model's figures beside the active one's
    POST /console/models/train              starts one job (409 while one runs)
    POST /console/models/<id>/activate      every web process switches to it within seconds
    POST /console/models/rollback           back to the model that answered before (409 if none)
"""
from __future__ import annotations

import asyncio
from typing import Callable
from urllib.parse import urlencode

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.console.access import (
    csrf_token,
    not_a_trainer,
    signed_in_trainer,
    trainer_posting,
)
from bot.console.model_pages import comparison_page, models_page
from bot.trained_models.registry import Model, ModelError, ModelRegistry
from bot.trained_models.training import TrainingError, TrainingJobs


def _registry(request: Request) -> ModelRegistry:
    return ModelRegistry(request.app.ctx.engine)


def _jobs(request: Request) -> TrainingJobs:
    return TrainingJobs(request.app.ctx.engine, request.app.ctx.settings)


async def _page(request: Request, name: str, notice: str = "", problem: str = "",
                status: int = 200) -> HTTPResponse:
    registry, jobs = _registry(request), _jobs(request)
    models, active, history = await asyncio.gather(asyncio.to_thread(registry.all),
                                                   asyncio.to_thread(registry.active),
                                                   asyncio.to_thread(registry.history))
    running = await asyncio.to_thread(jobs.running)
    job = running or next(iter(await asyncio.to_thread(jobs.recent, 1)), None)
    switcher = getattr(request.app.ctx, "models", None)
    serving = switcher.loaded if switcher is not None else None
    return response.html(models_page(models, active, serving, history, job, request.app.ctx.shop.timezone,
                                     name, csrf_token(request), notice, problem), status=status)


def add_model_routes(console: Blueprint) -> None:
    @console.get("/models")
    async def models(request: Request) -> HTTPResponse:
        trainer = signed_in_trainer(request)
        if trainer is None:
            return not_a_trainer(request)
        return await _page(request, trainer.name, request.args.get("done", ""))

    @console.get("/models/<model_row:row_id>")
    async def model(request: Request, model_row: int) -> HTTPResponse:
        trainer = signed_in_trainer(request)
        if trainer is None:
            return not_a_trainer(request)
        registry = _registry(request)
        found, active = await asyncio.gather(asyncio.to_thread(registry.get, model_row),
                                             asyncio.to_thread(registry.active))
        if found is None:
            return response.text("No such model.", status=404)
        return response.html(comparison_page(found, active, request.app.ctx.shop.timezone, trainer.name,
                                             csrf_token(request)))

    @console.post("/models/train")
    async def train(request: Request) -> HTTPResponse:
        trainer = trainer_posting(request)
        if isinstance(trainer, HTTPResponse):
            return trainer
        try:
            job = await asyncio.to_thread(_jobs(request).start, trainer.email)
        except TrainingError as error:
            return await _page(request, trainer.name, problem=f"{error}.", status=409)
        return _done(f"Job {job.id} started: training at low priority, then measuring.")

    @console.post("/models/<model_row:row_id>/activate")
    async def activate(request: Request, model_row: int) -> HTTPResponse:
        return await _decide(request, lambda registry, by: registry.activate(model_row, by), "Activated")

    @console.post("/models/rollback")
    async def rollback(request: Request) -> HTTPResponse:
        return await _decide(request, lambda registry, by: registry.rollback(by), "Rolled back to")


async def _decide(request: Request, decision: Callable[[ModelRegistry, str], Model],
                  done: str) -> HTTPResponse:
    trainer = trainer_posting(request)
    if isinstance(trainer, HTTPResponse):
        return trainer
    try:
        model = await asyncio.to_thread(decision, _registry(request), trainer.email)
    except ModelError as error:
        status = 404 if str(error).startswith("no model ") else 409
        return await _page(request, trainer.name, problem=f"{error}. Nothing was changed.", status=status)
    return _done(f"{done} model {model.id}: every server switches to it within seconds.")


def _done(notice: str) -> HTTPResponse:
    return response.redirect("/console/models?" + urlencode({"done": notice}), status=303)
