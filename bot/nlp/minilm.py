"""all-MiniLM-L6-v2 sentence and token embeddings without PyTorch (ONNX Runtime, TensorFlow or NumPy).

This module has the encoder: tokenization, the NumPy forward pass, pooling, the cache and the choice
of backend. The model's files are found and checked against the sha256 of the official release by
bot/nlp/minilm_files.py (its public names are re-exported here); the ONNX Runtime and TensorFlow
forward passes are in bot/nlp/minilm_graphs.py.

The encoder reproduces sentence-transformers' pipeline for this model: BERT WordPiece tokenization
(the ``tokenizers`` package, max_seq_length 256, longer input truncated), a 6-layer BERT forward pass
in float32 (erf GELU, not the tanh approximation; LayerNorm eps 1e-12), mean pooling over the
non-padding tokens (including [CLS] and [SEP], as sentence-transformers does) and L2 normalisation.
It matches sentence-transformers to ~1e-6 (see tests/fixtures/minilm_reference.json).

The forward pass has several implementations (the *backend*), whose vectors agree to ~3e-6; median
latency over typical messages (median 15 wordpieces) on one core of a 2-core machine, measured with
bot/nlp/bench_minilm.py:

* ``"onnxruntime"`` (6.5-8 ms; the default when onnxruntime and onnx are installed): an ONNX graph built
  from the weights with ``onnx.helper`` (in minilm_graphs.py) and run by ONNX Runtime on the CPU. ONNX
  Runtime packs the weight matrices once, when the session is created; numpy 1.23's OpenBLAS and
  TensorFlow's Eigen pack them again on every product, which costs most with a handful of tokens. Rasa
  does not pull these packages in: ``pip install onnxruntime==1.23.2 onnx==1.17.0`` (newer onnx releases
  would upgrade protobuf beyond what TensorFlow 2.12 accepts).
* ``"tf"`` (9-11.5 ms; the default when only TensorFlow is installed, as it is with Rasa): the whole
  forward pass as one TensorFlow graph (``tf.function`` with a dynamic batch size and length, traced
  once when the encoder is built; weights as constants, pinned to the CPU).
* ``"tf-xla"`` (10-11 ms, 5-7 s more to load): the same graph compiled with XLA (``jit_compile=True``)
  for single messages, their length padded up to a multiple of 8 (XLA compiles once per shape,
  ~1.2 s each: 8-32 when the encoder is built, longer ones on first use); batches use the plain graph.
  The time is in the matrix products, which XLA hands to Eigen too: not worth its compile time.
* ``"numpy"`` (15.5-17.5 ms): the original NumPy implementation, needing nothing more; also the
  independent cross-check of the others in the tests.

``backend=None`` means the ``MINILM_BACKEND`` environment variable if set, else ``"auto"``: the first
of "onnxruntime", "tf", "numpy" whose packages are installed.

Nothing heavy happens at import time: the model is read and verified, and tokenizers/safetensors (and
onnx/onnxruntime or TensorFlow, for those backends) are imported, when an encoder is built.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

# Names imported as themselves ("X as X") are re-exported: code imports them from this module.
from bot.nlp.minilm_files import (
    _EXPECTED_CONFIG,
    EMBEDDING_DIM,
    ModelIntegrityError,
    PathLike,
    _check_config,
    model_dir,
    read_verified,
)
from bot.nlp.minilm_files import EXPECTED_SHA256 as EXPECTED_SHA256
from bot.nlp.minilm_files import INSTALL_HINT as INSTALL_HINT
from bot.nlp.minilm_files import MODEL_NAME as MODEL_NAME
from bot.nlp.minilm_files import MODEL_PACKAGE as MODEL_PACKAGE
from bot.nlp.minilm_files import sha256_of as sha256_of
from bot.nlp.minilm_files import verify_model_files as verify_model_files
from bot.nlp.minilm_graphs import ONNX_OPSET as ONNX_OPSET
from bot.nlp.minilm_graphs import XLA_BUCKET as XLA_BUCKET
from bot.nlp.minilm_graphs import XLA_WARM_UP_LENGTHS as XLA_WARM_UP_LENGTHS
from bot.nlp.minilm_graphs import _OnnxForward, _TensorFlowForward

MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model
ENCODER_VERSION = "1"  # bump when the numerics here or in minilm_graphs change (part of Rasa's fingerprint)

BACKENDS = ("onnxruntime", "tf", "tf-xla", "numpy")
BACKEND_ENV = "MINILM_BACKEND"  # overrides the default backend ("auto") when no backend is given


def resolve_backend(backend: Optional[str] = None) -> str:
    """The backend ``backend`` stands for: None reads ``MINILM_BACKEND``, then "auto".

    "auto" is the fastest backend whose packages are installed: "onnxruntime" (needs onnxruntime and
    onnx), else "tf", else "numpy".
    """
    if backend is None:
        backend = os.environ.get(BACKEND_ENV) or "auto"
    backend = backend.strip().lower()
    if backend == "auto":
        if all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx")):
            return "onnxruntime"
        return "tf" if importlib.util.find_spec("tensorflow") is not None else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"Unknown MiniLM backend {backend!r}: expected 'auto' or one of {BACKENDS}")
    return backend


def default_threads() -> int:
    """Threads for ONNX Runtime, which reads no environment variable of its own: OMP_NUM_THREADS, else
    TF_INTRA_OP_PARALLELISM_THREADS (as Rasa uses), else 1.

    One, not ONNX Runtime's default of one per core: on 2 cores, a second thread took the median from
    6.5-7.7 ms to 4.5 ms while the other core was idle, but to 14-15.5 ms while a Rasa training run
    kept it busy.
    """
    for variable in ("OMP_NUM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


@dataclass(frozen=True)
class TokenVectors:
    """Per-wordpiece output of the last layer for one text (after truncation, no padding).

    ``offsets[i]`` is the character span ``[start, end)`` of wordpiece ``i`` in the original text;
    the special tokens [CLS] and [SEP] have ``special[i] == True`` and the empty span (0, 0).
    The arrays are read-only: they may be shared with the encoder's cache.
    """

    vectors: np.ndarray  # [n_wordpieces, 384] float32
    offsets: np.ndarray  # [n_wordpieces, 2] int64
    special: np.ndarray  # [n_wordpieces] bool
    wordpieces: Tuple[str, ...]

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


@dataclass(frozen=True)
class _Layer:
    """One encoder layer, weights as ``[out, in]`` matrices applied to feature-major activations."""

    w_qkv: np.ndarray  # [1152, 384]: query (pre-scaled by 1/sqrt(head_dim)), key, value stacked
    b_qkv: np.ndarray  # [1152, 1]
    w_out: np.ndarray  # [384, 384]
    b_out: np.ndarray  # [384, 1]
    ln1_g: np.ndarray  # [384, 1]
    ln1_b: np.ndarray
    w_in: np.ndarray  # [1536, 384]
    b_in: np.ndarray  # [1536, 1]
    w_ffn_out: np.ndarray  # [384, 1536]
    b_ffn_out: np.ndarray  # [384, 1]
    ln2_g: np.ndarray
    ln2_b: np.ndarray


# erf(y) = y * P(y^2) / Q(y^2) on [-4, 4] (outside, erf is +-1 in float32): the rational approximation
# Eigen and XLA use for float32 erf, max abs error 6.5e-8 in exact arithmetic, ~4e-7 evaluated in
# float32 (scipy.special.erf on float32 is exact to 3e-8 but 5x slower than the whole GELU below).
_ERF_P = (-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04, -5.69250639462346e-05,
          -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10)
_ERF_Q = (-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03, -2.13374055278905e-04,
          -1.45660718464996e-05)
# GELU(x) = x * Phi(x), Phi(x) = 0.5 + 0.5 * erf(x / sqrt(2)). With y = x / sqrt(2), y^2 = x^2 / 2, so
# 0.5 * erf(x / sqrt(2)) = x * P'(x^2) / Q'(x^2) with the 1/sqrt(2) and 0.5 folded into the coefficients.
_PHI_P = tuple(np.float32(0.5 / math.sqrt(2.0) * c * 0.5**i) for i, c in enumerate(_ERF_P))
_PHI_Q = tuple(np.float32(c * 0.5**i) for i, c in enumerate(_ERF_Q))
_PHI_CLAMP = np.float32(4.0 * math.sqrt(2.0))


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU in float32, ``0.5 * x * (1 + erf(x / sqrt(2)))``, computed in place on ``x``."""
    u = np.clip(x, -_PHI_CLAMP, _PHI_CLAMP)
    u2 = np.multiply(u, u)
    p = np.multiply(u2, _PHI_P[-1])
    for c in _PHI_P[-2:0:-1]:
        p += c
        p *= u2
    p += _PHI_P[0]
    p *= u
    q = np.multiply(u2, _PHI_Q[-1])
    for c in _PHI_Q[-2:0:-1]:
        q += c
        q *= u2
    q += _PHI_Q[0]
    p /= q
    p += np.float32(0.5)
    x *= p
    return x


def gelu_reference(x: np.ndarray) -> np.ndarray:
    """GELU with scipy's erf (for tests)."""
    from scipy.special import erf

    x64 = np.asarray(x, dtype=np.float64)
    return (0.5 * x64 * (1.0 + erf(x64 / math.sqrt(2.0)))).astype(np.float32)


_MATRICES = ("w_qkv", "w_out", "w_in", "w_ffn_out")


def _in_one_buffer(layers: List[_Layer]) -> List[_Layer]:
    """The layers with their weight matrices moved into one 42 MB array.

    NumPy asks the kernel for transparent huge pages for allocations of 4 MB and more; the matrices
    (0.6-2.4 MB each) then share 2 MB pages, which makes the per-call repacking in sgemm ~5% faster.
    """
    total = sum(getattr(layer, name).size for layer in layers for name in _MATRICES)
    buffer = np.empty(total, dtype=np.float32)
    offset = 0
    moved = []
    for layer in layers:
        views = {}
        for name in _MATRICES:
            matrix = getattr(layer, name)
            view = buffer[offset : offset + matrix.size].reshape(matrix.shape)
            view[...] = matrix
            views[name] = view
            offset += matrix.size
        moved.append(dataclasses.replace(layer, **views))
    return moved


class MiniLMEncoder:
    """Loads, verifies and runs all-MiniLM-L6-v2.

    ``encode(texts)`` returns ``(sentence_vectors, token_vectors)``: an ``[n, 384]`` float32 array of
    L2-normalised mean-pooled sentence embeddings and, per text, a :class:`TokenVectors`.
    Results of recent texts are kept in an LRU cache (``cache_size`` entries, 0 disables it).
    ``backend`` picks the implementation of the forward pass (see the module docstring); texts are
    encoded one batch of up to ``batch_size`` texts (sorted by length) at a time with the same backend.
    ``threads`` only applies to ONNX Runtime (None: ``default_threads()``, 0: one per core); NumPy's
    OpenBLAS and TensorFlow have process-wide thread pools (OPENBLAS_NUM_THREADS or OMP_NUM_THREADS;
    Rasa applies TF_INTRA_OP_PARALLELISM_THREADS when it starts).
    ``load_seconds`` says where the load time went (read and verify, weights, backend build, warm-up).

    The NumPy forward pass keeps activations feature-major (``[384, tokens]``) and the weights in the
    ``[out, in]`` layout, so every projection is one ``W @ h`` with no transposition at run time;
    with OpenBLAS this is ~25% faster for a handful of tokens than ``h @ W.T`` (the weight operand is
    packed either way, and the few tokens fall on its narrow side). Q, K and V are one fused matmul.
    """

    def __init__(
        self,
        model_path: Optional[PathLike] = None,
        *,
        cache_size: int = 2048,
        batch_size: int = 32,
        max_seq_length: int = MAX_SEQ_LENGTH,
        backend: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> None:
        from safetensors.numpy import load as load_safetensors
        from tokenizers import Tokenizer

        self.backend = resolve_backend(backend)
        started = time.perf_counter()
        self.model_path = Path(model_path) if model_path is not None else model_dir()
        weights = read_verified(self.model_path, "model.safetensors")
        tokenizer_json = read_verified(self.model_path, "tokenizer.json")
        read_verified(self.model_path, "vocab.txt")  # not read by the tokenizer, but part of the release
        _check_config(self.model_path)
        config = json.loads((self.model_path / "config.json").read_text())
        self._eps = np.float32(config["layer_norm_eps"])
        self._heads = int(config["num_attention_heads"])
        self._head_dim = EMBEDDING_DIM // self._heads
        self.max_seq_length = min(int(max_seq_length), int(config["max_position_embeddings"]))
        self.batch_size = max(1, int(batch_size))
        self.gemv_max_tokens = 6  # measured crossover of gemv-per-token vs sgemm (OpenBLAS 0.3.20)

        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        tokenizer.no_padding()  # tokenizer.json pads to 128: we pad per batch ourselves
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._tokenizer = tokenizer

        read = time.perf_counter()
        self._load_weights(load_safetensors(weights))
        del weights
        loaded = time.perf_counter()
        self.load_seconds: Dict[str, float] = {"read_and_verify": read - started, "weights": loaded - read}

        self._graph_forward: Optional[Union[_OnnxForward, _TensorFlowForward]] = None
        if self.backend != "numpy":
            if self.backend == "onnxruntime":
                threads = default_threads() if threads is None else int(threads)
                self._graph_forward = _OnnxForward(self, threads=threads)
            else:
                self._graph_forward = _TensorFlowForward(self, jit_compile=self.backend == "tf-xla")
            built = time.perf_counter()
            # The graph has its own copy of the weights: the NumPy one (~90 MB) is not needed.
            self._layers = []  # type: ignore[var-annotated]
            self._word_emb = self._pos_type_emb = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
            self._graph_forward.warm_up()
            self.load_seconds["backend_build"] = built - loaded
            self.load_seconds["warm_up"] = time.perf_counter() - built

        self.cache_size = max(0, int(cache_size))
        self._cache: "OrderedDict[str, Tuple[np.ndarray, TokenVectors]]" = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # ----------------------------------------------------------------------------------- weights
    def _load_weights(self, tensors: Dict[str, np.ndarray]) -> None:
        def get(name: str) -> np.ndarray:
            try:
                return np.asarray(tensors[name], dtype=np.float32)
            except KeyError:
                raise ModelIntegrityError(f"model.safetensors has no tensor {name}") from None

        def column(name: str) -> np.ndarray:  # biases and LayerNorm parameters as [dim, 1]
            return np.ascontiguousarray(get(name).reshape(-1, 1))

        def weight(name: str) -> np.ndarray:  # torch Linear weights are already [out, in]
            return np.ascontiguousarray(get(name + ".weight"))

        self._word_emb = np.ascontiguousarray(get("embeddings.word_embeddings.weight"))
        # Token type is always 0 for single sentences: fold it into the position table.
        self._pos_type_emb = np.ascontiguousarray(
            get("embeddings.position_embeddings.weight")[: self.max_seq_length]
            + get("embeddings.token_type_embeddings.weight")[0]
        )
        self._emb_ln = (column("embeddings.LayerNorm.weight"), column("embeddings.LayerNorm.bias"))
        self._mean_row = np.full((1, EMBEDDING_DIM), 1.0 / EMBEDDING_DIM, dtype=np.float32)

        scale = np.float32(1.0 / math.sqrt(self._head_dim))
        layers = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in tensors:
            p = f"encoder.layer.{index}."
            w_qkv = np.concatenate(
                [
                    weight(p + "attention.self.query") * scale,
                    weight(p + "attention.self.key"),
                    weight(p + "attention.self.value"),
                ]
            )
            b_qkv = np.concatenate(
                [
                    get(p + "attention.self.query.bias") * scale,
                    get(p + "attention.self.key.bias"),
                    get(p + "attention.self.value.bias"),
                ]
            )
            layers.append(
                _Layer(
                    w_qkv=np.ascontiguousarray(w_qkv, dtype=np.float32),
                    b_qkv=np.ascontiguousarray(b_qkv.reshape(-1, 1), dtype=np.float32),
                    w_out=weight(p + "attention.output.dense"),
                    b_out=column(p + "attention.output.dense.bias"),
                    ln1_g=column(p + "attention.output.LayerNorm.weight"),
                    ln1_b=column(p + "attention.output.LayerNorm.bias"),
                    w_in=weight(p + "intermediate.dense"),
                    b_in=column(p + "intermediate.dense.bias"),
                    w_ffn_out=weight(p + "output.dense"),
                    b_ffn_out=column(p + "output.dense.bias"),
                    ln2_g=column(p + "output.LayerNorm.weight"),
                    ln2_b=column(p + "output.LayerNorm.bias"),
                )
            )
            index += 1
        if len(layers) != _EXPECTED_CONFIG["num_hidden_layers"]:
            raise ModelIntegrityError(f"model.safetensors has {len(layers)} layers, expected 6")
        self._layers = _in_one_buffer(layers)

    # ----------------------------------------------------------------------------------- maths
    def _layer_norm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """LayerNorm over the features (axis 0 of ``[384, tokens]``), in place on ``x``.

        The means over axis 0 are matrix-vector products with a constant 1/384 row: with few tokens
        that is several times faster than ``x.mean(axis=0)``.
        """
        x -= self._mean_row @ x
        var = self._mean_row @ np.square(x)
        var += self._eps
        np.sqrt(var, out=var)
        x /= var
        x *= gamma
        x += beta
        return x

    def _linear(self, weight: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``weight @ x + bias`` for feature-major ``x`` ``[in, tokens]``.

        OpenBLAS's sgemm repacks the whole weight matrix on every call, which costs as much as
        several matrix-vector products: for a few tokens, one gemv per token (numpy's stacked
        matmul) is faster.
        """
        if x.shape[1] <= self.gemv_max_tokens:
            out = np.matmul(weight, x.T[:, :, None])  # [tokens, out, 1]
            out = np.ascontiguousarray(out[:, :, 0].T)
        else:
            out = weight @ x
        out += bias
        return out

    def _forward(self, ids: np.ndarray, lengths: Optional[np.ndarray]) -> np.ndarray:
        """Last hidden state ``[batch, length, 384]`` for token ids ``[batch, length]``, by the backend.

        ``lengths`` (``[batch]``) marks the real tokens of padded rows; None when nothing is padded.
        """
        if self._graph_forward is not None:
            return self._graph_forward(ids, lengths)
        return self._numpy_forward(ids, lengths)

    def _numpy_forward(self, ids: np.ndarray, lengths: Optional[np.ndarray]) -> np.ndarray:
        """``_forward`` in NumPy."""
        batch, length = ids.shape
        heads, head_dim = self._heads, self._head_dim
        tokens = batch * length
        emb = self._word_emb[ids.reshape(-1)].reshape(batch, length, EMBEDDING_DIM)
        emb += self._pos_type_emb[:length]
        # Feature-major from here on: column b * length + t is token t of row b.
        x = np.ascontiguousarray(emb.reshape(tokens, EMBEDDING_DIM).T)
        x = self._layer_norm(x, *self._emb_ln)

        bias = None
        if lengths is not None:
            padding = np.arange(length)[None, :] >= np.asarray(lengths)[:, None]
            bias = np.where(padding, np.finfo(np.float32).min, np.float32(0.0)).astype(np.float32)
            bias = bias[:, None, None, :]  # [batch, 1, 1, length]: masks the keys

        for layer in self._layers:
            qkv = self._linear(layer.w_qkv, layer.b_qkv, x)  # [3 * 384, tokens]
            qkv = qkv.reshape(3, heads, head_dim, batch, length)
            q = qkv[0].transpose(2, 0, 3, 1)  # [batch, heads, length, head_dim] (a view)
            k = qkv[1].transpose(2, 0, 1, 3)  # [batch, heads, head_dim, length]
            v = qkv[2].transpose(2, 0, 1, 3)  # [batch, heads, head_dim, length]
            scores = q @ k  # [batch, heads, query, key]
            if bias is not None:
                scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = v @ scores.transpose(0, 1, 3, 2)  # [batch, heads, head_dim, query]
            if batch == 1:
                context = context.reshape(EMBEDDING_DIM, tokens)
            else:
                context = np.ascontiguousarray(context.transpose(1, 2, 0, 3)).reshape(EMBEDDING_DIM, tokens)
            attn = self._linear(layer.w_out, layer.b_out, context)
            attn += x
            x = self._layer_norm(attn, layer.ln1_g, layer.ln1_b)

            hidden = gelu_(self._linear(layer.w_in, layer.b_in, x))  # [1536, tokens]
            out = self._linear(layer.w_ffn_out, layer.b_ffn_out, hidden)
            out += x
            x = self._layer_norm(out, layer.ln2_g, layer.ln2_b)
        return x.T.reshape(batch, length, EMBEDDING_DIM)

    # ----------------------------------------------------------------------------------- encoding
    def _encode_uncached(self, texts: Sequence[str]) -> List[Tuple[np.ndarray, TokenVectors]]:
        if len(texts) == 1:
            encodings = [self._tokenizer.encode(texts[0])]
        else:
            encodings = self._tokenizer.encode_batch(list(texts))
        results: List[Optional[Tuple[np.ndarray, TokenVectors]]] = [None] * len(texts)
        # Sort by length so each batch is padded to a similar length.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            lengths = [len(encodings[i].ids) for i in chunk]
            width = max(lengths)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                ids[row, : lengths[row]] = encodings[i].ids
            padded = any(n != width for n in lengths)
            hidden = self._forward(ids, np.asarray(lengths) if padded else None)
            for row, i in enumerate(chunk):
                n = lengths[row]
                vectors = np.array(hidden[row, :n], dtype=np.float32)  # own copy, not a view
                pooled = vectors.mean(axis=0)  # mean over the non-padding tokens
                norm = float(np.linalg.norm(pooled))
                sentence = (pooled / max(norm, 1e-12)).astype(np.float32)
                encoding = encodings[i]
                token_vectors = TokenVectors(
                    vectors=vectors,
                    offsets=np.asarray(encoding.offsets, dtype=np.int64).reshape(n, 2),
                    special=np.asarray(encoding.special_tokens_mask, dtype=bool),
                    wordpieces=tuple(encoding.tokens),
                )
                for array in (sentence, token_vectors.vectors, token_vectors.offsets, token_vectors.special):
                    array.setflags(write=False)
                results[i] = (sentence, token_vectors)
        return [r for r in results if r is not None]

    def encode(
        self, texts: Union[str, Iterable[str]], *, use_cache: bool = True
    ) -> Tuple[np.ndarray, List[TokenVectors]]:
        """Embed ``texts``: ``(sentence_vectors [n, 384], [TokenVectors] * n)``."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32), []
        results: List[Optional[Tuple[np.ndarray, TokenVectors]]] = [None] * len(texts)
        missing: Dict[str, List[int]] = {}
        use_cache = use_cache and self.cache_size > 0
        with self._cache_lock:
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise TypeError(f"texts must be strings, got {type(text).__name__}")
                hit = self._cache.get(text) if use_cache else None
                if hit is not None:
                    self._cache.move_to_end(text)
                    self.cache_hits += 1
                    results[i] = hit
                else:
                    missing.setdefault(text, []).append(i)
            if use_cache:
                self.cache_misses += len(missing)
        if missing:
            unique = list(missing)
            for text, result in zip(unique, self._encode_uncached(unique), strict=True):
                for i in missing[text]:
                    results[i] = result
                if use_cache:
                    with self._cache_lock:
                        self._cache[text] = result
                        self._cache.move_to_end(text)
                        while len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
        done = [r for r in results if r is not None]
        sentences = np.stack([r[0] for r in done]).astype(np.float32)
        return sentences, [r[1] for r in done]

    def embed_sentences(self, texts: Union[str, Iterable[str]], *, use_cache: bool = True) -> np.ndarray:
        """Only the ``[n, 384]`` L2-normalised sentence embeddings."""
        return self.encode(texts, use_cache=use_cache)[0]

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self.cache_hits = 0
            self.cache_misses = 0

    def cache_info(self) -> Dict[str, Any]:
        with self._cache_lock:
            return {
                "hits": self.cache_hits,
                "misses": self.cache_misses,
                "size": len(self._cache),
                "max_size": self.cache_size,
            }


_SHARED: Dict[Tuple[str, int, int, str], MiniLMEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(
    model_path: Optional[PathLike] = None,
    *,
    cache_size: int = 2048,
    batch_size: int = 32,
    backend: Optional[str] = None,
) -> MiniLMEncoder:
    """One encoder per (model folder, cache size, batch size, backend) in this process, built on first use."""
    path = Path(model_path) if model_path is not None else model_dir()
    resolved = resolve_backend(backend)
    key = (str(path.resolve()), int(cache_size), int(batch_size), resolved)
    with _SHARED_LOCK:
        encoder = _SHARED.get(key)
        if encoder is None:
            encoder = MiniLMEncoder(path, cache_size=cache_size, batch_size=batch_size, backend=resolved)
            _SHARED[key] = encoder
        return encoder
