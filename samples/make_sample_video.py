"""Make samples/classroom_sample.mp4: a short synthetic classroom exchange.

    .venv/bin/python samples/make_sample_video.py

An educator (an adult espeak-ng voice, ~200 Hz) asks open and closed questions at a
water table; a child (a higher voice, ~310 Hz) answers after known pauses and asks a
question of her own. Next to the video it writes classroom_sample.truth.json: each
utterance's spoken span and speaker, and for each question who asked it, its expected
label, true wait time and whether a child answered, which the end-to-end test checks.
Deterministic for a given espeak-ng and ffmpeg; the video stays well under 1 MB.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.speech_fixtures import Utterance, Voice, build_speech, wrap_as_video  # noqa: E402

EDUCATOR, CHILD = Voice("en-us+f3"), Voice("en-us+f5", pitch=90)

# (speaker voice, text, pause after, expected label if it is a question)
SCRIPT = [
    (EDUCATOR, "Good morning, friends. Today we have a bowl of water and some things from the garden.", 0.8, None),
    (EDUCATOR, "What do you think will happen if we put the rock in the water?", 3.5, "OEQ"),
    (CHILD, "It will sink to the bottom.", 1.0, None),
    (EDUCATOR, "Why do you think it will sink?", 2.0, "OEQ"),
    (CHILD, "Because it is heavy.", 1.2, None),
    (EDUCATOR, "Is the leaf heavy?", 1.5, "CEQ"),
    (CHILD, "No, it is light.", 1.0, None),
    (EDUCATOR, "How many leaves are in the bowl?", 2.5, "CEQ"),
    (CHILD, "There are three leaves.", 1.0, None),
    (CHILD, "Can I have a turn now?", 0.8, "CEQ"),
    (EDUCATOR, "Yes, after Maya.", 1.0, None),
    (EDUCATOR, "Tell me about what you see when the leaf touches the water.", 4.0, "OEQ"),
    (CHILD, "It is floating and it is spinning around.", 1.0, None),
    (EDUCATOR, "Great observation. Let us try the apple next.", 1.0, None),
]


def make(out_dir: Path = HERE, name: str = "classroom_sample") -> Path:
    utterances = [Utterance(text, pause, voice) for voice, text, pause, _ in SCRIPT]
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        spans = build_speech(utterances, wav)
        video = wrap_as_video(wav, out_dir / f"{name}.mp4", faststart=True)
    truth = {
        "utterances": [{"text": s.text, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3),
                        "speaker": _role(voice)}
                       for s, (voice, *_) in zip(spans, SCRIPT)],
        "questions": [{"text": s.text, "label": label, "start_s": round(s.start_s, 3),
                       "speaker": _role(voice),
                       "wait_time_s": round(spans[i + 1].start_s - s.end_s, 3) if i + 1 < len(spans) else None,
                       "answered": i + 1 < len(spans) and _role(voice) == "educator" and SCRIPT[i + 1][0] == CHILD}
                      for i, (s, (voice, _, _, label)) in enumerate(zip(spans, SCRIPT)) if label],
    }
    (out_dir / f"{name}.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return video


def _role(voice: Voice) -> str:
    return "educator" if voice == EDUCATOR else "child"


if __name__ == "__main__":
    made = make()
    print(f"wrote {made} ({made.stat().st_size / 1024:.0f} KB) and its truth file")
