"""OEQ/CEQ question classifier served through ONNX Runtime.

The graph (made by ``models/oeq_ceq/train.py``) takes already-normalised strings
and returns P(CEQ), P(OEQ); this module owns loading it once, picking the execution
provider and batching. A text with several questions is scored question by question,
each in its context window (``turns.py``); the text's P(OEQ) is its most open
question's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import onnxruntime as ort

from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.turns import raw_questions_with_windows, turn_oeq_probabilities

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MODEL_FILE = ARTIFACTS / "oeq_ceq.onnx"
CARD_FILE = ARTIFACTS / "model_card.json"
LABELS = ("CEQ", "OEQ")
OEQ_THRESHOLD = 0.5
BATCH_SIZE = 1024


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str
    oeq_probability: float
    model_version: str = ""  # the version that made it (several serve at once under an A/B split)


class ModelUnavailable(RuntimeError):
    """The model files are missing or unreadable."""


def preferred_providers() -> list[str]:
    """CUDA when this onnxruntime build has it, CPU always as the fallback."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


class QuestionClassifier:
    def __init__(self, model_file: Path = MODEL_FILE, card_file: Path = CARD_FILE):
        try:
            card = json.loads(card_file.read_text())
        except (OSError, ValueError) as error:
            raise ModelUnavailable(f"cannot load the OEQ/CEQ model card {card_file}: {error}") from error
        self._load(str(model_file), card, str(model_file))

    @classmethod
    def from_bytes(cls, model: bytes, card: dict, source: str = "bytes") -> "QuestionClassifier":
        """A version read from the model registry (blob storage), not from a file."""
        self = cls.__new__(cls)
        self._load(model, card, source)
        return self

    def _load(self, model: str | bytes, card: dict, source: str) -> None:
        try:
            self.card = card
            options = ort.SessionOptions()
            options.log_severity_level = 3
            # Idle pool threads yield instead of spinning: the graph's string ops gain
            # nothing from spinning, and on a busy 2-core host spinning threads steal the
            # CPU the work needs (measured: 20,000 texts in 3.4-6.6 s instead of 4.9-11.7 s).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = ort.InferenceSession(model, options, providers=preferred_providers())
        except (OSError, ValueError, ort.capi.onnxruntime_pybind11_state.Fail) as error:
            raise ModelUnavailable(f"cannot load the OEQ/CEQ model from {source}: {error}") from error
        self._input = self._session.get_inputs()[0].name
        self._probabilities = self._session.get_outputs()[1].name

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def providers(self) -> list[str]:
        return self._session.get_providers()

    def oeq_probabilities_of_normalized(self, normalized: Sequence[str]) -> np.ndarray:
        """P(OEQ) for texts already passed through ``normalize_text`` (the cache's key)."""
        return turn_oeq_probabilities(normalized, self.window_oeq_probabilities)

    def window_oeq_probabilities(self, windows: Sequence[str]) -> np.ndarray:
        """P(OEQ) straight from the graph, one normalised window each, in batches."""
        out = np.empty(len(windows), dtype=np.float64)
        for start in range(0, len(windows), BATCH_SIZE):
            batch = windows[start : start + BATCH_SIZE]
            out[start : start + len(batch)] = self._oeq_probabilities(batch)
        return out

    def classify(self, texts: Iterable[str]) -> list[Prediction]:
        texts = list(texts)
        probabilities = self.oeq_probabilities_of_normalized([normalize_text(t) for t in texts])
        return [prediction(text, p, self.version) for text, p in zip(texts, probabilities)]

    def classify_questions(self, turn: str) -> list[Prediction]:
        """Each question of one turn on its own (in its context window), as written."""
        pairs = raw_questions_with_windows(turn)
        probabilities = self.window_oeq_probabilities([window for _, window in pairs])
        return [prediction(question, p, self.version) for (question, _), p in zip(pairs, probabilities)]

    def _oeq_probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        batch = np.array(list(normalized), dtype=object).reshape(-1, 1)
        probabilities = self._session.run([self._probabilities], {self._input: batch})[0]
        return probabilities[:, LABELS.index("OEQ")]


def prediction(text: str, oeq_probability: float, model_version: str = "") -> Prediction:
    p = round(float(oeq_probability), 4)
    return Prediction(text=text, label="OEQ" if p >= OEQ_THRESHOLD else "CEQ", oeq_probability=p,
                      model_version=model_version)
