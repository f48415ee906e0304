"""The trained models a shop has, and which one answers its customers.

A model is a Rasa archive on disk, known once by the sha256 of its bytes, with Rasa's model id (which
Rasa writes on every event it answered, so each turn names its model), when it was trained, from what
(the git commit, and a hash of the config, domain and training data) and its figures
(bot/trained_models/figures.py). The model that answers is the latest activation; activating writes one, and a
rollback activates the model that answered before the current one. Every web process reads the latest
activation and switches to it (bot/trained_models/switch.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.services import order_tables as t
from actions.services.clock import naive_utc

KINDS = ("activate", "rollback", "deploy")


class ModelError(ValueError):
    """A model that cannot be registered or activated as asked; the message says why."""


@dataclass(frozen=True)
class Model:
    id: int
    file: Path
    sha256: str
    model_id: str
    trained_at: dt.datetime          # UTC, naive
    commit: str
    data_hash: str
    figures: Dict[str, Any]
    trained_by: str


@dataclass(frozen=True)
class Activation:
    model: Model
    kind: str
    activated_by: str
    activated_at: dt.datetime        # UTC, naive


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as archive:
        for block in iter(lambda: archive.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_hash(paths: Iterable[Path]) -> str:
    """One hash of every file under the paths (config, domain, data folders): names and bytes, sorted."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(root.parent) if root.is_dir() else path.name).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def git_commit(paths: Sequence[Path], cwd: Path = Path(".")) -> str:
    """HEAD, with "+" when the training inputs differ from it (the trainer's new examples); "" outside git."""
    top = cwd.resolve()
    inside = [str(p) for p in paths if p.resolve().is_relative_to(top)]
    outside = len(inside) < len(list(paths))  # a config or data folder git does not know: not HEAD's
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", *inside], cwd=cwd,
                                 capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+" if changed or outside else "")


def rasa_metadata(path: Path) -> Tuple[str, dt.datetime]:
    """The model id Rasa gave the archive, and when it was trained (UTC, naive)."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    metadata = LocalModelStorage.metadata_from_archive(path)
    trained = metadata.trained_at
    return str(metadata.model_id), naive_utc(trained) if trained.tzinfo else trained


def stamp_file(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def write_stamp(path: Path, inputs: Sequence[Path]) -> Path:
    """Beside a model `make train` made: what it was trained from (read when the model is registered)."""
    stamp = stamp_file(path)
    stamp.write_text(json.dumps({"sha256": file_sha256(path), "commit": git_commit(inputs),
                                 "data_hash": data_hash(inputs)}), encoding="utf-8")
    return stamp


def _stamp(path: Path, sha: str) -> Dict[str, str]:
    try:
        stamp = json.loads(stamp_file(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) and stamp.get("sha256") == sha else {}  # a stale one says nothing


def _now() -> dt.datetime:
    return naive_utc(dt.datetime.now(dt.timezone.utc))


def _model(row: Any) -> Model:
    try:
        figures = json.loads(row.figures or "{}")
    except ValueError:
        figures = {}
    return Model(row.id, Path(row.file), row.sha256, row.model_id, row.trained_at, row.commit, row.data_hash,
                 figures if isinstance(figures, dict) else {}, row.trained_by)


class ModelRegistry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, path: Path, trained_by: str, commit: str = "", hashed: str = "",
                 figures: Optional[Dict[str, Any]] = None, trained_at: Optional[dt.datetime] = None) -> Model:
        """The archive as a known model (the one already known if its bytes are)."""
        if not path.is_file():
            raise ModelError(f"no model archive at {path}")
        return self._register(path, file_sha256(path), trained_by, commit, hashed, figures, trained_at)

    def _register(self, path: Path, sha: str, trained_by: str, commit: str = "", hashed: str = "",
                  figures: Optional[Dict[str, Any]] = None,
                  trained_at: Optional[dt.datetime] = None) -> Model:
        known = self.by_sha256(sha)
        if known is not None:
            return known
        try:
            model_id, rasa_trained_at = rasa_metadata(path)
        except Exception as error:  # noqa: BLE001 (Rasa raises errors of its own for what is not a model)
            raise ModelError(f"{path} is not a Rasa model: {error}") from None
        stamp = _stamp(path, sha)
        commit, hashed = commit or str(stamp.get("commit") or ""), hashed or str(stamp.get("data_hash") or "")
        try:
            with self.engine.begin() as connection:
                connection.execute(t.models.insert().values(
                    file=str(path), sha256=sha, model_id=model_id, trained_at=trained_at or rasa_trained_at,
                    commit=commit, data_hash=hashed, figures=json.dumps(figures or {}),
                    trained_by=trained_by))
        except IntegrityError:
            pass  # another process registered the same archive at the same moment: that row is the model
        found = self.by_sha256(sha)
        assert found is not None
        return found

    def set_figures(self, model: Model, figures: Dict[str, Any]) -> Model:
        with self.engine.begin() as connection:
            connection.execute(t.models.update().where(t.models.c.id == model.id)
                               .values(figures=json.dumps(figures)))
        found = self.get(model.id)
        assert found is not None
        return found

    def get(self, model_row: int) -> Optional[Model]:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.models).where(t.models.c.id == model_row)).first()
        return _model(row) if row is not None else None

    def by_sha256(self, sha: str) -> Optional[Model]:
        with self.engine.connect() as connection:
            row = connection.execute(select(t.models).where(t.models.c.sha256 == sha)).first()
        return _model(row) if row is not None else None

    def all(self) -> List[Model]:
        """Every model, the newest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.models).order_by(t.models.c.trained_at.desc(),
                                                                t.models.c.id.desc())).all()
        return [_model(row) for row in rows]

    def history(self, limit: int = 50) -> List[Activation]:
        """Activations, the latest first: the first is the model that answers."""
        a = t.model_activations
        with self.engine.connect() as connection:
            rows = connection.execute(select(a.c.model, a.c.kind, a.c.activated_by, a.c.activated_at)
                                      .order_by(a.c.id.desc()).limit(limit)).all()
        models = {m.id: m for m in self.all()}
        return [Activation(models[r.model], r.kind, r.activated_by, r.activated_at) for r in rows]

    def active(self) -> Optional[Model]:
        a = t.model_activations
        with self.engine.connect() as connection:
            model_row = connection.execute(select(a.c.model).order_by(a.c.id.desc()).limit(1)).scalar()
        return self.get(int(model_row)) if model_row is not None else None

    def activate(self, model_row: int, by: str, kind: str = "activate") -> Model:
        """Make the model the one that answers (every web process switches to it within seconds)."""
        if kind not in KINDS:
            raise ModelError(f"kind must be one of {', '.join(KINDS)}")
        model = self.get(model_row)
        if model is None:
            raise ModelError(f"no model {model_row}")
        if not model.file.is_file():
            raise ModelError(f"model {model_row}'s archive is gone from {model.file}")
        with self.engine.begin() as connection:
            connection.execute(t.model_activations.insert().values(
                model=model.id, kind=kind, activated_by=by, activated_at=_now()))
        return model

    def previous(self) -> Optional[Model]:
        """The model that answered before the current one (what a rollback restores)."""
        history = self.history(limit=200)
        if not history:
            return None
        current = history[0].model.id
        return next((a.model for a in history[1:] if a.model.id != current), None)

    def rollback(self, by: str) -> Model:
        previous = self.previous()
        if previous is None:
            raise ModelError("no earlier model to go back to")
        return self.activate(previous.id, by, "rollback")

    def deployed(self, path: Path) -> Model:
        """At a web process's start: the model MODEL_PATH names, if it is new (`make train` made it), becomes
        the active one; a model seen before leaves the trainer's last choice in force. Returns the model
        to load."""
        sha = file_sha256(path)
        known = self.by_sha256(sha)
        if known is None:
            known = self._register(path, sha, "make train")
            return self.activate(known.id, "make train", "deploy")
        active = self.active()
        if active is None:
            return self.activate(known.id, "make train", "deploy")
        return active if active.file.is_file() else known


def answering_model(engine: Engine, default: Path) -> Path:
    """The archive of the model that answers now (the latest activation), else ``default`` (MODEL_PATH)."""
    active = ModelRegistry(engine).active()
    return active.file if active is not None and active.file.is_file() else default
