"""Training jobs: one at a time, each in its own process at the lowest CPU priority, so that customers are
still answered quickly while a model trains on the same machine.

A job (a row of ``training_jobs``) goes starting → training → evaluating → done, or failed with the
reason. Its process (`python -m bot train --job ID`, started by the console or run in the foreground by
`python -m bot train`) lowers its priority (nice 19) and its threads (one for TensorFlow and the maths
libraries), trains with `rasa train` on the repository's config, domain and data (the trainer's new
examples included), measures the new model (bot/trained_models/figures.py) and, if the model that answers
now has no figures yet, that one too, then registers the new model. Activating it is the trainer's
decision.
Everything the job prints goes to its log file, which the console shows.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.clock import naive_utc
from bot.settings import Settings
from bot.trained_models import figures as model_figures
from bot.trained_models.registry import Model, ModelRegistry, data_hash, git_commit

RUNNING = ("starting", "training", "evaluating")
DATA_DIR = Path("data")
DOMAIN = Path("domain.yml")
QUIET_THREADS = {"OMP_NUM_THREADS": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1",
                 "TF_INTER_OP_PARALLELISM_THREADS": "1", "RASA_TELEMETRY_ENABLED": "false",
                 "TF_CPP_MIN_LOG_LEVEL": "2"}


class TrainingError(ValueError):
    """A job that cannot be started as asked; the message says why."""


@dataclass(frozen=True)
class Job:
    id: int
    started_by: str
    started_at: dt.datetime            # UTC, naive
    finished_at: Optional[dt.datetime]
    stage: str
    problem: str
    log_file: Path
    pid: Optional[int]
    model: Optional[int]

    @property
    def running(self) -> bool:
        return self.stage in RUNNING

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _now() -> dt.datetime:
    return naive_utc(dt.datetime.now(dt.timezone.utc))


def _alive(pid: Optional[int]) -> bool:
    if pid is None:
        return True  # not started yet: its starter is about to record the pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a child of this process that ended and was not reaped yet is a zombie: gone all the same
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def training_inputs(settings: Settings) -> List[Path]:
    """What a model is trained from: the config, the domain, the rules and stories, the NLU examples."""
    nlu = (DATA_DIR / "nlu").resolve()
    data = [p for p in sorted(DATA_DIR.iterdir()) if p.is_dir() and p.resolve() != nlu]
    return [settings.training_config, DOMAIN, *data, settings.training_data_dir]


def job_environment(settings: Settings) -> Dict[str, str]:
    env = {**os.environ, **QUIET_THREADS}
    env.update(DATABASE_URL=settings.database_url, TRAINING_DATA_DIR=str(settings.training_data_dir),
               TRAINING_CONFIG=str(settings.training_config), MODELS_DIR=str(settings.models_dir),
               TRAINING_LOG_DIR=str(settings.training_log_dir), NLU_DEV_DIR=str(settings.nlu_dev_dir),
               TEST_STORIES_DIR=str(settings.test_stories_dir), MODEL_PATH=str(settings.model_path))
    return env


class TrainingJobs:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def _job(self, row: Any) -> Job:
        return Job(row.id, row.started_by, row.started_at, row.finished_at, row.stage, row.problem,
                   Path(row.log_file), row.pid, row.model)

    def get(self, job_id: int) -> Optional[Job]:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.training_jobs).where(t.training_jobs.c.id == job_id)).first()
        return self._job(row) if row is not None else None

    def recent(self, limit: int = 10) -> List[Job]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.training_jobs).order_by(t.training_jobs.c.id.desc())
                                      .limit(limit)).all()
        return [self._job(row) for row in rows]

    def running(self) -> Optional[Job]:
        """The job in progress; one whose process has died is marked failed on the way."""
        for job in self.recent(limit=5):
            if job.running and not _alive(job.pid):
                self.finish(job.id, "failed",
                            "the training process ended without finishing (killed or crashed)")
            elif job.running:
                return job
        return None

    def create(self, by: str) -> Job:
        current = self.running()
        if current is not None:
            raise TrainingError(f"job {current.id} is already training (started by {current.started_by}); "
                                "one job at a time")
        self.settings.training_log_dir.mkdir(parents=True, exist_ok=True)
        try:
            with self.engine.begin() as connection:  # the row and its log file's name, in one transaction
                inserted = connection.execute(t.training_jobs.insert().values(
                    started_by=by, started_at=_now(), stage="starting", running_slot=1))
                job_id = int(inserted.inserted_primary_key[0])
                log_file = self.settings.training_log_dir / f"job-{job_id}.log"
                connection.execute(t.training_jobs.update().where(t.training_jobs.c.id == job_id)
                                   .values(log_file=str(log_file)))
        except IntegrityError:  # another job took the slot since running() looked
            raise TrainingError("another training job has just been started; one job at a time") from None
        job = self.get(job_id)
        assert job is not None
        return job

    def start(self, by: str) -> Job:
        """A job in its own process (the web server answers on meanwhile)."""
        job = self.create(by)
        with job.log_file.open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "bot", "train", "--job", str(job.id)],
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=job_environment(self.settings), start_new_session=True)
        self._set(job.id, pid=process.pid)
        return self.get(job.id) or job

    def _set(self, job_id: int, **values: Any) -> None:
        with self.engine.begin() as connection:
            connection.execute(t.training_jobs.update().where(t.training_jobs.c.id == job_id)
                               .values(**values))

    def finish(self, job_id: int, stage: str, problem: str = "", model: Optional[int] = None) -> None:
        self._set(job_id, stage=stage, problem=problem, model=model, finished_at=_now(), running_slot=None)

    def run(self, job_id: int) -> Optional[Model]:
        """The job's work, in the job's own process: train, measure, register. None if it failed."""
        job = self.get(job_id)
        if job is None or job.stage != "starting":
            raise TrainingError(f"job {job_id} is not waiting to start")
        os.nice(19)  # customers first: the web and action servers keep their priority
        os.environ.update(QUIET_THREADS)
        self._set(job_id, pid=os.getpid(), stage="training")
        with job.log_file.open("a", encoding="utf-8", buffering=1) as log:
            try:
                model = self._train_and_measure(job, log)
            except Exception as error:  # noqa: BLE001 (whatever stops the job is the trainer's to read)
                traceback.print_exc(file=log)
                self.finish(job_id, "failed", f"{type(error).__name__}: {error}")
                return None
            log.write(f"Done: model {model.id} ({model.model_id}) is ready to compare and activate.\n")
        self.finish(job_id, "done", model=model.id)
        return model

    def _train_and_measure(self, job: Job, log: IO[str]) -> Model:
        settings = self.settings
        if not settings.training_config.is_file():  # else rasa train quietly takes its own default pipeline
            raise TrainingError(f"no training configuration at {settings.training_config}")
        inputs = training_inputs(settings)
        stamp = job.started_at.strftime("%Y%m%d-%H%M%S")
        name = f"model-{stamp}-job{job.id}"
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "rasa", "train", "--config", str(settings.training_config),
                   "--domain", str(DOMAIN), "--data", *[str(p) for p in inputs[2:]], "--out",
                   str(settings.models_dir), "--fixed-model-name", name, "--force"]
        log.write(f"Training: {' '.join(command)}\n")
        env = job_environment(settings)
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=6 * 3600)
        archive = settings.models_dir / f"{name}.tar.gz"
        if done.returncode != 0 or not archive.is_file():
            raise TrainingError(f"rasa train ended with {done.returncode}; see the log")
        self._set(job.id, stage="evaluating")
        out = settings.training_log_dir / f"job-{job.id}"
        registry = ModelRegistry(self.engine)
        stories = settings.test_stories_dir
        figures = model_figures.measure(archive, settings.training_data_dir, settings.nlu_dev_dir, stories,
                                        out / "new", env, log)
        active = registry.active()
        if active is not None and not active.figures and active.file.is_file():
            log.write(f"Measuring the model answering now ({active.id}) to compare\n")
            registry.set_figures(active, model_figures.measure(
                active.file, settings.training_data_dir, settings.nlu_dev_dir, stories, out / "active", env,
                log))
        return registry.register(archive, job.started_by, git_commit(inputs), data_hash(inputs), figures,
                                 trained_at=_now())
