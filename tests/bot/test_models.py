"""Trained models: the registry (which model answers, activations, rollback, what `make train` deployed), the
figures side by side, training jobs one at a time, and a web process switching models in place."""
from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from actions.services import order_tables as t
from actions.services.database import create_database_engine
from actions.services.migrations import MIGRATIONS, migrate
from bot.settings import Settings
from bot.trained_models.figures import compare, intent_changes
from bot.trained_models.registry import (
    ModelError,
    ModelRegistry,
    data_hash,
    file_sha256,
    git_commit,
    write_stamp,
)
from bot.trained_models.training import TrainingError, TrainingJobs
from tests.bot.servers import MODEL
from tests.conftest import migrated_engine


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The real model, and the same model in other bytes (gzip's header): two archives to switch between."""
    folder = tmp_path_factory.mktemp("models")
    first, second = folder / "first.tar.gz", folder / "second.tar.gz"
    first.write_bytes(MODEL.read_bytes())
    second.write_bytes(gzip.compress(gzip.decompress(MODEL.read_bytes()), compresslevel=1, mtime=1))
    return first, second


@pytest.fixture
def engine(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/models.db")
    migrate(engine)
    yield engine
    engine.dispose()


def test_a_model_is_known_once_by_its_bytes(engine, archives):
    first, second = archives
    registry = ModelRegistry(engine)
    one = registry.register(first, "make train")
    assert registry.register(first, "someone else").id == one.id
    two = registry.register(second, "tess@example.com", commit="abc123", hashed="d" * 64)
    assert two.id != one.id and two.model_id == one.model_id  # the same training, packed twice
    assert (two.commit, two.data_hash, two.trained_by) == ("abc123", "d" * 64, "tess@example.com")
    assert one.trained_at == two.trained_at  # Rasa's own record of when it was trained
    assert [m.id for m in registry.all()] == [two.id, one.id]
    (first.parent / "junk.tar.gz").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a Rasa model"):
        registry.register(first.parent / "junk.tar.gz", "x")
    with pytest.raises(ModelError, match="no model archive"):
        registry.register(first.parent / "missing.tar.gz", "x")


def test_activate_and_roll_back(engine, archives):
    registry = ModelRegistry(engine)
    one, two = (registry.register(path, "make train") for path in archives)
    assert registry.active() is None and registry.previous() is None
    with pytest.raises(ModelError, match="no earlier model"):
        registry.rollback("tess")
    registry.activate(one.id, "tess")
    registry.activate(two.id, "tess")
    assert registry.active().id == two.id and registry.previous().id == one.id
    assert registry.rollback("sam").id == one.id
    assert [(a.model.id, a.kind, a.activated_by) for a in registry.history()] == [
        (one.id, "rollback", "sam"), (two.id, "activate", "tess"), (one.id, "activate", "tess")]
    assert registry.rollback("sam").id == two.id  # a rollback of a rollback: back again
    with pytest.raises(ModelError, match="no model 999"):
        registry.activate(999, "tess")


def test_an_archive_gone_from_disk_is_not_activated(engine, tmp_path, archives):
    copy = tmp_path / "copy.tar.gz"
    copy.write_bytes(archives[1].read_bytes())
    registry = ModelRegistry(engine)
    model = registry.register(copy, "tess")
    copy.unlink()
    with pytest.raises(ModelError, match="archive is gone"):
        registry.activate(model.id, "tess")
    assert registry.active() is None


def test_make_train_deploys_a_new_model_and_keeps_the_trainers_choice_otherwise(engine, archives, tmp_path):
    first, second = archives
    registry = ModelRegistry(engine)
    deployed = registry.deployed(first)
    assert registry.active().id == deployed.id and registry.history()[0].kind == "deploy"
    chosen = registry.register(second, "tess")
    registry.activate(chosen.id, "tess")
    assert registry.deployed(first).id == chosen.id  # a restart keeps what the trainer activated
    newer = tmp_path / "shop.tar.gz"
    newer.write_bytes(gzip.compress(gzip.decompress(first.read_bytes()), compresslevel=1, mtime=2))
    assert registry.deployed(newer).file == newer  # `make train` made a new one: it answers
    assert registry.active().file == newer


def test_make_trains_stamp_says_what_the_model_came_from(engine, tmp_path, archives):
    model = tmp_path / "shop.tar.gz"
    model.write_bytes(archives[0].read_bytes())
    data = tmp_path / "nlu"
    data.mkdir()
    (data / "a.yml").write_text("nlu: []\n")
    write_stamp(model, [data])
    registered = ModelRegistry(engine).register(model, "make train")
    assert registered.data_hash == data_hash([data]) and len(registered.data_hash) == 64
    stale = tmp_path / "stale.tar.gz"
    stale.write_bytes(archives[1].read_bytes())
    (tmp_path / "stale.tar.gz.json").write_text('{"sha256": "other", "commit": "lies", "data_hash": "lies"}')
    assert ModelRegistry(engine).register(stale, "make train").commit == ""


def test_data_hash_follows_the_data_and_git_commit_marks_changes(tmp_path):
    data = tmp_path / "nlu"
    data.mkdir()
    (data / "a.yml").write_text("one")
    before = data_hash([data])
    (data / "a.yml").write_text("two")
    assert data_hash([data]) != before
    assert git_commit([data], cwd=tmp_path) == ""  # not a repository
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q",
                    "--allow-empty", "-m", "x"], cwd=tmp_path, check=True)
    assert git_commit([data], cwd=tmp_path).endswith("+")  # untracked training data: not the commit's


FIGURES_OLD = {"sets": {"heldout": {"accuracy": 0.9, "macro_f1": 0.88, "oos_refused": 0.95,
                                    "per_intent": {"greet": 1.0, "invoice": 0.7, "wrong_item": 0.9}}},
               "external": {"bitext_dev": {"right": 0.85, "refused": 0.05, "out_of_scope": False,
                                           "by_group": {"track_refund": 0.6, "get_invoice": 0.9}}},
               "stories": {"passed": 44, "total": 44}}
FIGURES_NEW = {"sets": {"heldout": {"accuracy": 0.92, "macro_f1": 0.9, "oos_refused": 0.95,
                                    "per_intent": {"greet": 1.0, "invoice": 0.9, "wrong_item": 0.85}}},
               "external": {"bitext_dev": {"right": 0.88, "refused": 0.04, "out_of_scope": False,
                                           "by_group": {"track_refund": 0.75, "get_invoice": 0.9}}},
               "stories": {"passed": 43, "total": 44}}


def test_figures_side_by_side_with_the_intents_that_moved():
    rows = {r.measure: (r.old, r.new) for r in compare(FIGURES_OLD, FIGURES_NEW)}
    assert rows["heldout: accuracy"] == (0.9, 0.92)
    assert rows["nlu-dev bitext_dev: right, not refused"] == (0.85, 0.88)
    assert rows["conversation tests passed"] == (1.0, 43 / 44)
    better, worse = intent_changes(FIGURES_OLD, FIGURES_NEW)
    assert [r.measure for r in better] == ["invoice (heldout)", "track_refund (nlu-dev bitext_dev)"]
    assert [r.measure for r in worse] == ["wrong_item (heldout)"]
    only_new = {r.measure: (r.old, r.new) for r in compare({}, FIGURES_NEW)}
    assert only_new["heldout: accuracy"] == (None, 0.92)


def test_one_training_job_at_a_time_and_a_dead_one_is_failed(engine, tmp_path):
    jobs = TrainingJobs(engine, Settings(training_log_dir=tmp_path / "logs"))
    first = jobs.create("tess")
    assert first.stage == "starting" and first.log_file == tmp_path / "logs" / f"job-{first.id}.log"
    with pytest.raises(TrainingError, match=f"job {first.id} is already training"):
        jobs.create("sam")
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    jobs._set(first.id, pid=ended.pid, stage="training")
    second = jobs.create("sam")  # the first one's process is gone: it failed, and a new job may start
    failed = jobs.get(first.id)
    assert failed.stage == "failed" and "ended without finishing" in failed.problem
    with pytest.raises(TrainingError, match="not waiting to start"):
        jobs.run(first.id)
    jobs._set(second.id, pid=os.getpid())  # alive: this very process
    assert jobs.running().id == second.id


@pytest.fixture(params=["sqlite", "postgresql"])
def either_engine(request, tmp_path):
    yield from migrated_engine(request, tmp_path)


def test_two_jobs_started_in_the_same_instant_cannot_both_run(either_engine, tmp_path):
    """Two trainers press Train at once: both pass the "is one running?" look before either inserts; the
    database's unique slot lets one job in and turns the other away."""
    racing = [TrainingJobs(either_engine, Settings(training_log_dir=tmp_path / "logs")) for _ in range(2)]
    for jobs in racing:
        jobs.running = lambda: None  # both looked before the other inserted
    first = racing[0].create("tess")
    with pytest.raises(TrainingError, match="another training job has just been started"):
        racing[1].create("sam")
    assert [job.id for job in racing[0].recent()] == [first.id]
    racing[0].finish(first.id, "done")  # an ended job frees the slot
    assert racing[1].create("sam").stage == "starting"


def test_a_database_made_before_the_slot_gets_it_held_by_the_running_job(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path}/old.db")
    migrate(engine, [m for m in MIGRATIONS if m.version < 17])
    with engine.begin() as connection:  # step 17 as it was: training_jobs without the slot
        t.models.create(connection)
        t.model_activations.create(connection)
        connection.execute(text(
            "CREATE TABLE training_jobs (id INTEGER PRIMARY KEY, started_by VARCHAR(254) NOT NULL, "
            "started_at DATETIME NOT NULL, finished_at DATETIME, stage VARCHAR(16) NOT NULL, problem TEXT "
            "NOT NULL, log_file VARCHAR(1000) NOT NULL, pid INTEGER, model INTEGER REFERENCES models (id))"))
        connection.execute(text("INSERT INTO training_jobs (started_by, started_at, stage, problem, "
                                "log_file) VALUES ('tess', '2026-12-01 10:00:00', 'done', '', ''), "
                                "('sam', '2026-12-01 11:00:00', 'training', '', '')"))
        connection.execute(t.schema_migrations.insert().values(version=17, name="as it was",
                                                               applied_at=dt.datetime(2026, 12, 1)))
    assert migrate(engine) == [m.version for m in MIGRATIONS if m.version >= 18]  # 18 and any later
    jobs = TrainingJobs(engine, Settings(training_log_dir=tmp_path / "logs"))
    jobs._set(2, pid=os.getpid())  # still running: this very process
    jobs.running = lambda: None
    with pytest.raises(TrainingError, match="just been started"):
        jobs.create("kim")
    engine.dispose()


def test_a_web_process_switches_models_in_place(engine, archives):
    from rasa.core.agent import Agent

    from bot.trained_models.switch import ModelSwitcher

    first, second = archives
    registry = ModelRegistry(engine)
    loaded = registry.deployed(first)
    agent = Agent.load(str(first))
    switcher = ModelSwitcher(agent, registry, loaded, every_seconds=0)
    assert asyncio.run(switcher.check()) is False  # nothing new activated
    target = registry.register(second, "tess")
    registry.activate(target.id, "tess")
    old_processor = agent.processor
    assert asyncio.run(switcher.check()) is True
    assert agent.processor is not old_processor and Path(agent.processor.model_path) == second
    assert switcher.loaded.id == target.id
    parsed = asyncio.run(agent.parse_message("what are your opening hours"))
    assert parsed["intent"]["name"] == "opening_hours"


def test_a_model_that_fails_to_load_leaves_the_old_one_answering(engine, archives, tmp_path, caplog):
    from rasa.core.agent import Agent

    from bot.trained_models.switch import ModelSwitcher

    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(archives[1].read_bytes())
    registry = ModelRegistry(engine)
    loaded = registry.deployed(archives[0])
    target = registry.register(broken, "tess")
    registry.activate(target.id, "tess")
    broken.write_bytes(b"\x1f\x8b" + b"garbage" * 100)  # damaged on disk after it was activated
    agent = Agent.load(str(archives[0]))
    processor = agent.processor
    switcher = ModelSwitcher(agent, registry, loaded, every_seconds=0)
    assert asyncio.run(switcher.check()) is False
    assert agent.processor is processor and switcher.failed_sha == file_sha256(archives[1])
    assert "could not be loaded" in caplog.text
    caplog.clear()
    assert asyncio.run(switcher.check()) is False and "loading it" not in caplog.text  # not retried


def test_a_loaded_domain_answers_whether_it_is_empty_without_building_an_empty_one(monkeypatch):
    import copy
    import pickle

    from rasa.shared.core.domain import Domain

    from bot.trained_models.switch import answer_once_whether_empty

    shop, empty = Domain.load("domain.yml"), Domain.empty()
    answer_once_whether_empty(shop)
    answer_once_whether_empty(empty)
    answer_once_whether_empty(None)  # a processor without a domain is left alone
    copies = [pickle.loads(pickle.dumps(shop)), copy.deepcopy(shop), copy.deepcopy(empty)]
    assert [domain.is_empty() for domain in copies] == [False, False, True]  # copies still answer
    monkeypatch.setattr(Domain, "empty", classmethod(lambda cls: pytest.fail("an empty Domain was built")))
    assert shop.is_empty() is False and empty.is_empty() is True
