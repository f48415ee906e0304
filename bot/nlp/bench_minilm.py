"""Benchmark of the all-MiniLM-L6-v2 encoder backends: ``python -m bot.nlp.bench_minilm``.

For each backend (``onnxruntime``, ``tf``, ``tf-xla``, ``numpy``; see bot/nlp/minilm.py) it prints
the load time (read + sha256 verification + weight preparation, then building the backend's graph
and warming it up) and the per-message latency (median, p95, and by length in wordpieces) of
``MiniLMEncoder.encode`` over ~200 typical shop messages of 2-25 words, one message at a time, with
the cache off; then the time of one batch encode of all of them (the training path). It is a
benchmark, not a test: nothing is asserted.

Each thread setting runs in a fresh Python process, because TensorFlow fixes its thread pools when it
starts. ``--threads 1`` sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, TF_INTRA_OP_PARALLELISM_THREADS and
TF_INTER_OP_PARALLELISM_THREADS to 1 (the TF ones applied the way Rasa applies them) and gives ONNX
Runtime 1 thread; ``0`` removes them: the libraries' defaults, one thread per CPU (for ONNX Runtime
``threads=0``; the encoder itself gives it 1 thread unless told otherwise, see
``minilm.default_threads``). The backends take turns: each of the ``--repeat`` passes times every
backend over all messages, and a message's latency is its median over the passes, so load from other
processes spreads over all backends alike.

Options: ``--backends onnxruntime,tf,tf-xla,numpy`` (default: those installed), ``--repeat N``
(default 3), ``--threads 1,0`` (0 = default), ``--messages N`` (default 200), ``--cached`` (also time
cache hits).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

_OPENINGS = ["", "", "", "hi, ", "hello, ", "hey ", "good morning, ", "sorry to bother you but ",
             "quick question: "]
_CLOSINGS = ["", "", "", " please", " thanks", ", thank you!", " cheers", " asap please", "?"]
_MESSAGES = [
    "where is my parcel",
    "has my order shipped yet",
    "what time do you open on sunday",
    "are you open on bank holidays",
    "I want my money back",
    "can I return a kettle I bought three weeks ago if I already opened the box",
    "my order {order} still hasn't arrived and it's been over a week since you said it was dispatched",
    "do you ship to Ireland and how much does it cost",
    "how long does standard delivery take to Scotland",
    "the grinder arrived broken, the lid is cracked and the motor makes a grinding noise",
    "can I change the delivery address on order {order}",
    "I was charged twice for the same order",
    "is the Hario V60 back in stock",
    "do you have gift cards",
    "how do I reset my password",
    "I'd like to cancel my order please, I ordered the wrong size by mistake",
    "can I pay with PayPal or Apple Pay",
    "what's your returns policy for sale items",
    "where can I find my invoice for order {order}",
    "the tracking link says delivered but nothing came, my neighbours haven't got it either",
    "do you sell decaf beans",
    "what grind should I choose for a french press",
    "can I speak to a human",
    "my discount code isn't working at checkout",
    "how do I delete my account and all my data",
    "is there a shop I can visit in Bristol",
    "when will the ethiopia yirgacheffe be restocked",
    "you sent me the wrong colour mug",
    "can I get a refund instead of a replacement",
    "how much is next day delivery",
    "thanks, that's all I needed",
    "ok",
    "yes",
    "no that's wrong",
    "I ordered two bags of coffee on Monday and only one arrived today, the second one is missing",
    "do you deliver on saturdays",
    "what is the warranty on the electric kettle and does it cover the base as well as the jug",
    "my email address changed, can you update it to tom.h@mailbox.org",
    "please call me back on 07700 900461",
    "why was my card declined",
]


def shop_messages(count: int = 200, seed: int = 0) -> List[str]:
    """``count`` distinct, typical customer messages (deterministic)."""
    rng = random.Random(seed)
    seen: Dict[str, None] = {}
    while len(seen) < count:
        body = rng.choice(_MESSAGES).format(order=f"KC-{rng.randint(10000, 99999)}")
        text = rng.choice(_OPENINGS) + body + rng.choice(_CLOSINGS)
        seen.setdefault(text[0].upper() + text[1:] if rng.random() < 0.5 else text, None)
    return list(seen)


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS")
LENGTH_BUCKETS = [(1, 7), (8, 12), (13, 18), (19, 25), (26, 40), (41, 256)]


def time_messages(encoder, messages: List[str], use_cache: bool) -> List[float]:
    """Latency in ms of ``encoder.encode`` for each message, one message at a time (one pass)."""
    times = []
    for text in messages:
        start = time.perf_counter()
        encoder.encode(text, use_cache=use_cache)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, latencies: List[float], lengths: Optional[List[int]] = None) -> None:
    print(
        f"  {label:<11} median {statistics.median(latencies):6.2f} ms"
        f"   p95 {percentile(latencies, 95):6.2f} ms   mean {statistics.mean(latencies):6.2f} ms"
        f"   max {max(latencies):6.2f} ms"
    )
    if lengths:
        for low, high in LENGTH_BUCKETS:
            chosen = [ms for ms, n in zip(latencies, lengths, strict=True) if low <= n <= high]
            if chosen:
                print(
                    f"      {low:>3}-{high:<3} wordpieces ({len(chosen):3d} msgs): "
                    f"median {statistics.median(chosen):6.2f} ms   p95 {percentile(chosen, 95):6.2f} ms"
                )


def configure_tensorflow() -> str:
    """Import TensorFlow and apply the TF_*_PARALLELISM_THREADS variables as Rasa does at start-up."""
    import tensorflow as tf

    for variable, setter in (
        ("TF_INTER_OP_PARALLELISM_THREADS", tf.config.threading.set_inter_op_parallelism_threads),
        ("TF_INTRA_OP_PARALLELISM_THREADS", tf.config.threading.set_intra_op_parallelism_threads),
    ):
        if os.environ.get(variable):
            setter(int(os.environ[variable]))
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    inter = tf.config.threading.get_inter_op_parallelism_threads() or "default"
    return f"TensorFlow {tf.__version__}, intra-op threads {intra}, inter-op threads {inter}"


def worker(args: argparse.Namespace) -> None:
    """Time the backends in this process, with the thread settings of its environment."""
    from threadpoolctl import threadpool_info

    from bot.nlp.minilm import MiniLMEncoder

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    label = f"{args.threads} thread(s)" if args.threads else "default threads"
    print(f"\n===== {label}: " + " ".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARIABLES))
    if any(b.startswith("tf") for b in backends):
        start = time.perf_counter()
        tf_info = configure_tensorflow()
        print(f"{tf_info}; import: {time.perf_counter() - start:.2f} s (already done in a Rasa process)")

    encoders = {}
    for backend in backends:
        start = time.perf_counter()
        # ONNX Runtime gets the thread count explicitly: 0 is its own default (one per core); the
        # encoder's default without OMP_NUM_THREADS is 1 (see minilm.default_threads).
        options = {"threads": args.threads} if backend == "onnxruntime" else {}
        encoders[backend] = MiniLMEncoder(cache_size=0, backend=backend, **options)
        total = time.perf_counter() - start
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in encoders[backend].load_seconds.items())
        count = getattr(encoders[backend]._graph_forward, "threads", None)
        note = "" if count is None else f"; ONNX Runtime intra-op threads {count or 'default'}"
        print(f"load {backend:<11} {total:5.2f} s ({parts}){note}")
    encoder = next(iter(encoders.values()))

    messages = shop_messages(args.messages)
    lengths = [len(encoder._tokenizer.encode(text).ids) for text in messages]
    words = [len(text.split()) for text in messages]
    blas = [(i.get("internal_api"), i.get("version"), i.get("num_threads")) for i in threadpool_info()]
    print(f"model: {encoder.model_path}")
    print(f"BLAS: {blas}; cpus: {os.cpu_count()}")
    print(f"{len(messages)} messages: {min(words)}-{max(words)} words (median {statistics.median(words)}), "
          f"{min(lengths)}-{max(lengths)} wordpieces incl. [CLS]/[SEP] "
          f"(median {statistics.median(lengths)}); "
          f"one message at a time, cache off, median of {args.repeat} passes per message")

    for each in encoders.values():  # warm up (caches, allocator, first calls)
        time_messages(each, messages[:20], use_cache=False)
    passes: Dict[str, List[List[float]]] = {backend: [] for backend in encoders}
    for _ in range(args.repeat):
        for backend, each in encoders.items():
            passes[backend].append(time_messages(each, messages, use_cache=False))
    for backend, runs in passes.items():
        report(backend, [statistics.median(times) for times in zip(*runs, strict=True)], lengths)

    if args.cached:
        cached = MiniLMEncoder(cache_size=len(messages), backend=backends[0], threads=args.threads or None)
        cached.encode(messages)
        report("cache hits", [statistics.median(t) for t in zip(*[time_messages(cached, messages, True)
                                                                  for _ in range(args.repeat)], strict=True)])

    print(f"batch encode of all {len(messages)} (training path, batch_size {encoder.batch_size}), best of 2:")
    for backend, each in encoders.items():
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            each.encode(messages, use_cache=False)
            best = min(best, time.perf_counter() - start)
        print(f"  {backend:<11} {best * 1000:6.0f} ms ({best / len(messages) * 1000:.2f} ms/message)")
    sys.stdout.flush()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=None,
                        help="comma-separated backends to time (default: all those installed)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="1,0", help="comma-separated thread counts, 0 = default")
    parser.add_argument("--cached", action="store_true", help="also time cache hits")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.backends is None:
        from bot.nlp.minilm import BACKENDS

        wanted = {"onnxruntime": ("onnxruntime", "onnx"), "tf": ("tensorflow",), "tf-xla": ("tensorflow",)}
        args.backends = ",".join(
            b for b in BACKENDS if all(importlib.util.find_spec(m) is not None for m in wanted.get(b, ()))
        )
    if args.worker:
        args.threads = int(args.threads)
        worker(args)
        return
    for threads in [int(t) for t in args.threads.split(",")]:
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
        if threads > 0:
            env.update({variable: str(threads) for variable in THREAD_VARIABLES})
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        command = [sys.executable, "-m", "bot.nlp.bench_minilm", "--worker", "--threads", str(threads),
                   "--backends", args.backends, "--repeat", str(args.repeat),
                   "--messages", str(args.messages)]
        subprocess.run(command + (["--cached"] if args.cached else []), env=env, check=True)


if __name__ == "__main__":
    main()
