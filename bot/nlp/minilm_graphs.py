"""The graph backends of the all-MiniLM-L6-v2 encoder in bot/nlp/minilm.py.

``_OnnxForward`` (backend "onnxruntime") builds the forward pass as an ONNX graph from the weights and
runs it with ONNX Runtime; ``_TensorFlowForward`` (backends "tf" and "tf-xla") runs it as one
TensorFlow graph. Each is built from a ``MiniLMEncoder`` whose weights are loaded and verified, and is
called like ``MiniLMEncoder._forward``: ``(ids [batch, length], lengths) -> [batch, length, 384]``.
The backends, their speed and how one is chosen are described in bot/nlp/minilm.py.

onnx, onnxruntime and TensorFlow are imported when a graph is built, not when this module is.
"""
from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

from bot.nlp.minilm_files import EMBEDDING_DIM

if TYPE_CHECKING:
    from bot.nlp.minilm import MiniLMEncoder

XLA_BUCKET = 8  # tf-xla: single messages are padded to a multiple of this many wordpieces
XLA_WARM_UP_LENGTHS = (8, 16, 24, 32)  # tf-xla: shapes compiled when the encoder is built
ONNX_OPSET = 17  # LayerNormalization is an ONNX operator from opset 17 on


class _OnnxForward:
    """The forward pass as an ONNX graph run by ONNX Runtime (CPU): same signature as ``_forward``.

    The graph is built here from the weights with ``onnx.helper`` (standard ONNX operators, opset 17;
    nothing is downloaded or exported from PyTorch), token-major like the TensorFlow graph, with a
    dynamic batch size and length. ONNX Runtime packs each constant weight matrix once, when the
    session is created, for its own matrix kernels (MLAS); numpy's OpenBLAS and Eigen pack them again
    on every product, which is most of why this backend is the fastest for a few tokens. ONNX Runtime
    fuses the bias and erf GELU (written ``x / sqrt(2)`` as in BERT, the pattern it recognises) into
    one BiasGelu kernel.
    """

    def __init__(self, encoder: "MiniLMEncoder", *, threads: int = 0) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(0, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        self.threads = options.intra_op_num_threads
        # Given the model as bytes, ONNX Runtime kept a second copy of the weights for the session's life
        # (+190 MB resident instead of +96); read from a file, one (issue 16).
        with tempfile.TemporaryDirectory(prefix="minilm-onnx-") as folder:
            path = Path(folder) / "minilm.onnx"
            path.write_bytes(self.build_model(encoder).SerializeToString())
            self._session = onnxruntime.InferenceSession(str(path), options,
                                                         providers=["CPUExecutionProvider"])

    @staticmethod
    def build_model(encoder: "MiniLMEncoder") -> Any:
        """The ``onnx.ModelProto``: inputs ``input_ids`` int64 and ``mask`` float32 (1 for tokens, 0 for
        padding), both ``[batch, length]``; output ``hidden`` ``[batch, length, 384]``."""
        from onnx import TensorProto, helper

        heads, head_dim = encoder._heads, encoder._head_dim
        initializers: List[Tuple[str, np.ndarray]] = []
        nodes: List[Any] = []

        def constant(name: str, value: Any, dtype: Any = np.float32) -> str:
            initializers.append((name, np.ascontiguousarray(np.asarray(value, dtype=dtype))))
            return name

        def op(op_type: str, inputs: List[str], outputs: int = 1, **attributes: Any) -> Any:
            names = [f"{op_type.lower()}_{len(nodes)}_{i}" for i in range(outputs)]
            nodes.append(helper.make_node(op_type, inputs, names, **attributes))
            return names[0] if outputs == 1 else names

        def layer_norm(x: str, gamma: np.ndarray, beta: np.ndarray, name: str) -> str:
            gamma_name = constant(name + ".gamma", gamma.reshape(-1))
            beta_name = constant(name + ".beta", beta.reshape(-1))
            return op("LayerNormalization", [x, gamma_name, beta_name], axis=-1, epsilon=float(encoder._eps))

        def linear(x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:  # weight [out, in]
            product = op("MatMul", [x, constant(name + ".weight", weight.T)])
            return op("Add", [product, constant(name + ".bias", bias.reshape(-1))])

        zero, one, two = (constant(f"int.{i}", [i], np.int64) for i in (0, 1, 2))
        f_one, f_half = constant("float.1", 1.0), constant("float.0.5", 0.5)
        sqrt_two = constant("float.sqrt2", math.sqrt(2.0))
        qkv_shape = constant("shape.qkv", [0, 0, 3, heads, head_dim], np.int64)
        hidden_shape = constant("shape.hidden", [0, 0, EMBEDDING_DIM], np.int64)

        length = op("Slice", [op("Shape", ["input_ids"]), one, two, zero])  # [length]
        position_table = constant("embeddings.position_and_type", encoder._pos_type_emb)
        positions = op("Slice", [position_table, zero, length, zero])  # [length, 384]
        words = op("Gather", [constant("embeddings.word", encoder._word_emb), "input_ids"])
        x = op("Add", [words, positions])
        x = layer_norm(x, *encoder._emb_ln, name="embeddings.norm")
        # [batch, 1, 1, key]: 0 on tokens, -max on padding
        padding = op("Mul", [op("Sub", ["mask", f_one]), constant("float.max", np.finfo(np.float32).max)])
        key_bias = op("Unsqueeze", [padding, constant("axes.1.2", [1, 2], np.int64)])
        for index, layer in enumerate(encoder._layers):
            name = f"layer.{index}"
            qkv = op("Reshape", [linear(x, layer.w_qkv, layer.b_qkv, name + ".qkv"), qkv_shape])
            qkv = op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, batch, heads, length, head_dim]
            q, k, v = (op("Squeeze", [part, zero]) for part in op("Split", [qkv], outputs=3, axis=0))
            scores = op("Add", [op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])]), key_bias])
            context = op("MatMul", [op("Softmax", [scores], axis=-1), v])  # [batch, heads, length, head_dim]
            context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), hidden_shape])
            attention = linear(context, layer.w_out, layer.b_out, name + ".attention_out")
            x = layer_norm(op("Add", [attention, x]), layer.ln1_g, layer.ln1_b, name + ".norm1")
            hidden = linear(x, layer.w_in, layer.b_in, name + ".intermediate")
            phi = op("Add", [op("Erf", [op("Div", [hidden, sqrt_two])]), f_one])
            hidden = op("Mul", [op("Mul", [hidden, phi]), f_half])  # erf GELU
            out = linear(hidden, layer.w_ffn_out, layer.b_ffn_out, name + ".output")
            x = layer_norm(op("Add", [out, x]), layer.ln2_g, layer.ln2_b, name + ".norm2")
        nodes[-1].output[0] = "hidden"

        graph = helper.make_graph(
            nodes,
            "all-MiniLM-L6-v2",
            [
                helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
                helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"]),
            ],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", EMBEDDING_DIM])],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="bot.nlp.minilm"
        )
        model.ir_version = 8  # the first IR version with opset 17: readable by older ONNX Runtimes too
        # Filled in place: make_graph/make_model would copy the 90 MB of weights twice more (~0.4 s).
        data_types = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}
        for name, array in initializers:
            tensor = model.graph.initializer.add()
            tensor.name = name
            tensor.data_type = data_types[array.dtype]
            tensor.dims.extend(array.shape)
            tensor.raw_data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        return model

    def warm_up(self) -> None:
        self(np.full((1, 8), 100, dtype=np.int64), None)
        self(np.full((2, 8), 100, dtype=np.int64), np.array([8, 5]))

    def __call__(self, ids: np.ndarray, lengths: Optional[np.ndarray]) -> np.ndarray:
        batch, length = ids.shape
        if lengths is None:
            mask = np.ones((batch, length), dtype=np.float32)
        else:
            mask = (np.arange(length)[None, :] < np.asarray(lengths)[:, None]).astype(np.float32)
        feed = {"input_ids": np.ascontiguousarray(ids, dtype=np.int64), "mask": mask}
        return self._session.run(["hidden"], feed)[0]


class _TensorFlowForward:
    """The forward pass as one TensorFlow graph: ``(ids [batch, length], lengths) -> [batch, length, 384]``.

    Token-major (``[tokens, 384] @ W[in, out]``: with Eigen's matrix product this layout is ~4x
    faster than multiplying by a transposed weight). The weights are constants captured by the
    ``tf.function``, whose input signature has a dynamic batch size and length, so it is traced once
    (when the backend is built); everything is pinned to the CPU (a GPU would use TF32 by default).
    With ``jit_compile`` single messages run through an XLA-compiled copy of the graph, their length
    padded up to a multiple of ``XLA_BUCKET`` (XLA compiles once per shape); batches always use the
    plain graph, whose shapes vary too much to compile each.
    """

    def __init__(self, encoder: "MiniLMEncoder", *, jit_compile: bool = False) -> None:
        import tensorflow as tf

        self._tf = tf
        self.jit_compile = jit_compile
        self.max_length = encoder.max_seq_length
        heads, head_dim = encoder._heads, encoder._head_dim
        eps = float(encoder._eps)
        sqrt_half = float(math.sqrt(0.5))
        large = float(np.finfo(np.float32).max)

        def const(array: np.ndarray) -> Any:
            return tf.constant(np.ascontiguousarray(array, dtype=np.float32))

        with tf.device("/CPU:0"):
            word_emb = const(encoder._word_emb)
            pos_type_emb = const(encoder._pos_type_emb)
            emb_gamma, emb_beta = (const(a.reshape(-1)) for a in encoder._emb_ln)
            layers = [
                (
                    const(layer.w_qkv.T), const(layer.b_qkv.reshape(-1)),
                    const(layer.w_out.T), const(layer.b_out.reshape(-1)),
                    const(layer.ln1_g.reshape(-1)), const(layer.ln1_b.reshape(-1)),
                    const(layer.w_in.T), const(layer.b_in.reshape(-1)),
                    const(layer.w_ffn_out.T), const(layer.b_ffn_out.reshape(-1)),
                    const(layer.ln2_g.reshape(-1)), const(layer.ln2_b.reshape(-1)),
                )
                for layer in encoder._layers
            ]

        def layer_norm(x: Any, gamma: Any, beta: Any) -> Any:
            x = x - tf.reduce_mean(x, axis=-1, keepdims=True)
            var = tf.reduce_mean(tf.square(x), axis=-1, keepdims=True)
            return x * tf.math.rsqrt(var + eps) * gamma + beta

        def forward(ids: Any, mask: Any) -> Any:
            """``ids`` int32 and ``mask`` float32 (1 for tokens, 0 for padding), both ``[batch, length]``."""
            with tf.device("/CPU:0"):
                batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
                x = tf.gather(word_emb, ids) + pos_type_emb[:length]
                x = tf.reshape(layer_norm(x, emb_gamma, emb_beta), [batch * length, EMBEDDING_DIM])
                key_bias = ((mask - 1.0) * large)[:, None, None, :]  # [batch, 1, 1, key]: -max on padding
                for w_qkv, b_qkv, w_out, b_out, g1, b1, w_in, b_in, w_ffn, b_ffn, g2, b2 in layers:
                    qkv = tf.nn.bias_add(tf.matmul(x, w_qkv), b_qkv)  # [tokens, 3 * 384], q pre-scaled
                    qkv = tf.transpose(tf.reshape(qkv, [batch, length, 3, heads, head_dim]), [2, 0, 3, 1, 4])
                    scores = tf.matmul(qkv[0], qkv[1], transpose_b=True) + key_bias  # [batch, heads, q, k]
                    context = tf.matmul(tf.nn.softmax(scores, axis=-1), qkv[2])  # [batch, heads, q, dim]
                    context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * length, EMBEDDING_DIM])
                    x = layer_norm(tf.nn.bias_add(tf.matmul(context, w_out), b_out) + x, g1, b1)
                    hidden = tf.nn.bias_add(tf.matmul(x, w_in), b_in)
                    hidden = hidden * (0.5 + 0.5 * tf.math.erf(hidden * sqrt_half))  # erf GELU
                    x = layer_norm(tf.nn.bias_add(tf.matmul(hidden, w_ffn), b_ffn) + x, g2, b2)
                return tf.reshape(x, [batch, length, EMBEDDING_DIM])

        signature = [tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)]
        # Concrete functions: called with tensors they skip tf.function's argument dispatch (~0.2 ms).
        self._graph = tf.function(forward, input_signature=signature).get_concrete_function()
        self._single = self._graph
        if jit_compile:
            self._single = tf.function(
                forward, input_signature=signature, jit_compile=True
            ).get_concrete_function()

    def warm_up(self) -> None:
        """Run the graph once (and compile the common XLA shapes): the first calls are slow."""
        lengths = [n for n in XLA_WARM_UP_LENGTHS if n <= self.max_length] if self.jit_compile else [8]
        for length in lengths:
            self(np.full((1, length), 100, dtype=np.int64), None)
        self(np.full((2, 8), 100, dtype=np.int64), np.array([8, 5]))

    def __call__(self, ids: np.ndarray, lengths: Optional[np.ndarray]) -> np.ndarray:
        tf = self._tf
        batch, length = ids.shape
        function = self._graph
        width = length
        if batch == 1 and self.jit_compile:
            function = self._single
            width = min(-(-length // XLA_BUCKET) * XLA_BUCKET, self.max_length)
        padded_ids = np.zeros((batch, width), dtype=np.int32)
        padded_ids[:, :length] = ids
        mask = np.zeros((batch, width), dtype=np.float32)
        if lengths is None:
            mask[:, :length] = 1.0
        else:
            mask[np.arange(width)[None, :] < np.asarray(lengths)[:, None]] = 1.0
        with tf.device("/CPU:0"):
            hidden = function(tf.constant(padded_ids), tf.constant(mask))
        return hidden.numpy()[:, :length]
