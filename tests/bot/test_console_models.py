"""The trainer's Models page: who may open it, activation and rollback from forms, one training job at a time,
and a failed training saying why; what bad input gets. The whole loop with real servers and a real training
is tests/bot/test_trainer_loop.py."""
from __future__ import annotations

import os
import time

import pytest

from actions.services.database import create_database_engine
from bot.settings import Settings
from bot.trained_models.registry import ModelRegistry
from bot.trained_models.training import TrainingJobs
from tests.bot.test_console import csrf_of
from tests.bot.test_console_trainer import cookies_of, get, trainer_console
from tests.bot.test_models import FIGURES_NEW, FIGURES_OLD, archives  # noqa: F401 (archives: a fixture)


@pytest.fixture
def console(make_app, tmp_path):
    yield from trainer_console(make_app, tmp_path)


@pytest.fixture
def models(console, tmp_path, archives):  # noqa: F811 (the fixture imported above)
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    registry = ModelRegistry(engine)
    one = registry.register(archives[0], "make train", figures=FIGURES_OLD)
    two = registry.register(archives[1], "tess@example.com", commit="abc123+", figures=FIGURES_NEW)
    registry.activate(one.id, "make train", "deploy")
    yield registry, one, two
    engine.dispose()


def post(app, path, cookies, csrf=None, **form):
    if csrf is None:
        csrf = csrf_of(get(app, "/console/models", cookies).text)
    _, reply = app.test_client.post(path, cookies=cookies, data={"csrf": csrf, **form}, allow_redirects=False)
    return reply


def test_trainers_only(console, models):
    app, _ = console
    assert get(app, "/console/models", cookies_of(app, "mara@example.com")).status == 403
    assert get(app, "/console/models", {}).status == 303
    page = get(app, "/console/models", cookies_of(app, "tess@example.com"))
    assert page.status == 200 and "Model 1 is active." in page.text
    assert "abc123+" in page.text and "heldout 0.920" in page.text and "stories 43/44" in page.text


def test_compare_activate_and_roll_back_from_the_page(console, models):
    app, _ = console
    registry, one, two = models
    tess = cookies_of(app, "tess@example.com")
    compared = get(app, f"/console/models/{two.id}", tess)
    assert compared.status == 200
    assert "<td>heldout: accuracy</td><td>0.900</td><td>0.920</td><td>+0.020</td>" in compared.text
    assert "invoice (heldout)" in compared.text.split("<h2>Worse</h2>")[0]
    assert "wrong_item (heldout)" in compared.text.split("<h2>Worse</h2>")[1]
    assert post(app, f"/console/models/{two.id}/activate", tess, csrf="forged").status == 403
    done = post(app, f"/console/models/{two.id}/activate", tess)
    assert done.status == 303 and registry.active().id == two.id
    assert registry.history()[0].activated_by == "tess@example.com"
    back = post(app, "/console/models/rollback", tess)
    assert back.status == 303 and registry.active().id == one.id
    assert "Rolled+back+to+model+1" in back.headers["location"]


def test_what_cannot_be_done_says_why_and_changes_nothing(console, models, tmp_path):
    app, _ = console
    registry, one, two = models
    tess = cookies_of(app, "tess@example.com")
    assert get(app, "/console/models/999", tess).status == 404
    missing = post(app, "/console/models/999/activate", tess)
    assert missing.status == 404 and "no model 999" in missing.text
    none_before = post(app, "/console/models/rollback", tess)
    assert none_before.status == 409 and "no earlier model" in none_before.text
    gone = tmp_path / "gone.tar.gz"
    gone.write_bytes(b"")
    os.replace(two.file, gone)  # the archive deleted by hand after training
    try:
        refused = post(app, f"/console/models/{two.id}/activate", tess)
        assert refused.status == 409 and "archive is gone" in refused.text
    finally:
        os.replace(gone, two.file)
    assert [a.model.id for a in registry.history()] == [one.id]


def test_one_job_at_a_time_and_a_failed_training_says_why(console, models, tmp_path):
    app, _ = console
    tess = cookies_of(app, "tess@example.com")
    engine = create_database_engine(f"sqlite:///{tmp_path}/app.db")
    jobs = TrainingJobs(engine, Settings(training_log_dir=tmp_path / "training"))
    running = jobs.create("sam@example.com")
    jobs._set(running.id, pid=os.getpid(), stage="training")  # alive: this very process
    busy = post(app, "/console/models/train", tess)
    assert busy.status == 409 and f"job {running.id} is already training" in busy.text
    jobs.finish(running.id, "done")
    # A configuration that is not there: the job fails at once and says so (no default pipeline instead).
    app.ctx.settings = Settings(**{**app.ctx.settings.__dict__, "training_config": tmp_path / "none.yml",
                                   "training_log_dir": tmp_path / "training", "models_dir": tmp_path / "m"})
    started = post(app, "/console/models/train", tess)
    assert started.status == 303 and "started" in started.headers["location"]
    job = jobs.recent(1)[0]
    deadline = time.monotonic() + 180
    while jobs.get(job.id).running and time.monotonic() < deadline:
        time.sleep(1)
    failed = jobs.get(job.id)
    assert failed.stage == "failed" and "no training configuration at" in failed.problem
    page = get(app, "/console/models", tess)
    assert "Failed" in page.text and "no training configuration at" in page.text
    assert "Train a new model" in page.text  # the trainer may try again
    engine.dispose()
