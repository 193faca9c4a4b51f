"""Export Resemblyzer's GE2E voice encoder to ONNX (run once; the .onnx is committed).

    python -m venv /tmp/export && /tmp/export/bin/pip install torch==2.13.0 librosa==0.11.0 onnx onnxruntime \\
        && /tmp/export/bin/pip install --no-deps resemblyzer==0.1.4
    /tmp/export/bin/python models/voices/export_encoder.py [--check AUDIO.wav]

Why ONNX: the weights ship in the PyPI wheel ``resemblyzer`` 0.1.4 (Apache-2.0) as a
PyTorch checkpoint; the app and worker run ONNX Runtime already and should not carry
torch. The graph takes the power spectrogram (batch, frames, 201) and applies the mel
filterbank itself, so ``encoder.py`` needs only numpy. ``--check`` compares this
module's embedding with Resemblyzer's own ``embed_utterance`` on a recording.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from models.voices.encoder import MODEL_PATH, N_FFT, SAMPLE_RATE  # noqa: E402


class GE2E(nn.Module):
    """Resemblyzer's VoiceEncoder with the mel filterbank in front."""

    def __init__(self, mel_basis: np.ndarray):
        super().__init__()
        self.register_buffer("mel_basis", torch.from_numpy(mel_basis.T.astype(np.float32)))  # (201, 40)
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(power @ self.mel_basis)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / torch.norm(raw, dim=1, keepdim=True)


def checkpoint_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")  # its __init__ needs scipy/webrtcvad; the file does not
    return Path(spec.submodule_search_locations[0]) / "pretrained.pt"


def build() -> GE2E:
    import librosa

    model = GE2E(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=40))
    state = torch.load(checkpoint_path(), map_location="cpu")["model_state"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    # similarity_weight/bias belong to the training loss, not to the encoder
    assert missing == ["mel_basis"] and set(unexpected) <= {"similarity_weight", "similarity_bias"}, (missing, unexpected)
    return model.eval()


def export(model: GE2E, out: Path) -> None:
    example = torch.rand(2, 160, N_FFT // 2 + 1)
    torch.onnx.export(model, (example,), str(out), input_names=["power"], output_names=["embedding"],
                      dynamic_axes={"power": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
                      opset_version=17, dynamo=False)


def check(audio: Path) -> float:
    """Cosine similarity of Resemblyzer's embedding and ours (1.0 = identical)."""
    import librosa
    from resemblyzer.voice_encoder import VoiceEncoder

    from models.voices.encoder import SpeakerEncoder

    wav, _ = librosa.load(str(audio), sr=SAMPLE_RATE, mono=True)
    theirs = VoiceEncoder(device="cpu", verbose=False).embed_utterance(_louder_like_resemblyzer(wav))
    ours = SpeakerEncoder(MODEL_PATH).embed(wav)
    return float(np.dot(theirs, ours))


def _louder_like_resemblyzer(wav: np.ndarray) -> np.ndarray:
    from resemblyzer.audio import normalize_volume

    return normalize_volume(wav, -30, increase_only=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=Path, action="append", default=[], help="a recording to compare on")
    args = parser.parse_args()
    export(build(), MODEL_PATH)
    print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size / 1e6:.1f} MB)")
    for audio in args.check:
        print(f"{audio.name}: cosine(resemblyzer, onnx) = {check(audio):.5f}")
