"""Generated classroom clips with known questions, labels and wait times, for the
end-to-end tests. An educator voice asks, a child voice answers after known pauses.

Each clip is long enough to be cut into chunks at the default 30 s, and ``BLOCKS``
puts speech across the first chunk seam (28-30 s) so a boundary falls inside words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.speech_fixtures import SpokenSpan, Utterance, build_speech, wrap_as_video

EDUCATOR, CHILD = "en-us+f3", "en-us+f5"


@dataclass(frozen=True)
class Line:
    voice: str
    text: str
    pause_after_s: float
    label: str | None = None  # the expected label when the line is a question


@dataclass(frozen=True)
class ExpectedQuestion:
    text: str
    label: str
    start_s: float
    wait_time_s: float | None


ART = [
    Line(EDUCATOR, "Wow, you used so many colours today.", 0.7),
    Line(EDUCATOR, "Tell me about your painting.", 3.2, "OEQ"),
    Line(CHILD, "It is my dog at the park.", 1.0),
    Line(EDUCATOR, "What colour is your dog?", 1.8, "CEQ"),
    Line(CHILD, "He is brown.", 0.9),
    Line(EDUCATOR, "How did you make the sky look so bright?", 3.6, "OEQ"),
    Line(CHILD, "I mixed yellow and white.", 1.0),
    Line(EDUCATOR, "Do you want to hang it on the wall?", 1.5, "CEQ"),
    Line(CHILD, "Yes please.", 1.0),
]

SNACK = [
    Line(EDUCATOR, "Okay friends, it is snack time.", 0.8),
    Line(EDUCATOR, "Who wants apples?", 1.6, "CEQ"),
    Line(CHILD, "Me, me!", 1.2),
    Line(EDUCATOR, "How many apple slices do you have?", 2.2, "CEQ"),
    Line(CHILD, "I have four.", 1.0),
    Line(EDUCATOR, "Why do you think apples are crunchy?", 3.8, "OEQ"),
    Line(CHILD, "Because they are fresh.", 1.0),
    Line(EDUCATOR, "What would happen if we left the apple out all night?", 4.2, "OEQ"),
    Line(CHILD, "It would get brown and soft.", 1.0),
    Line(EDUCATOR, "Is it time to clean up?", 1.5, "CEQ"),
]

BLOCKS = [
    Line(EDUCATOR, "We are building a tall tower with the wooden blocks today.", 1.0),
    Line(EDUCATOR, "Which block should go on the bottom?", 2.4, "CEQ"),
    Line(CHILD, "The big one.", 1.0),
    Line(EDUCATOR, "What do you think will happen if we put the small block at the bottom?", 4.2, "OEQ"),
    Line(CHILD, "It will fall down.", 4.0),
    Line(EDUCATOR, "Let us try it and see what happens to our tower when we add more blocks on the very top.",
         1.2),
    Line(EDUCATOR, "Why did the tower fall?", 2.8, "OEQ"),
    Line(CHILD, "It was too wobbly.", 1.0),
    Line(EDUCATOR, "Can you help me pick up the blocks?", 1.5, "CEQ"),
    Line(CHILD, "Okay.", 0.5),
]

CLIPS = {"art": ART, "snack": SNACK, "blocks": BLOCKS}


def make_clip(lines: list[Line], folder: Path, name: str) -> tuple[Path, list[SpokenSpan], list[ExpectedQuestion]]:
    spans = build_speech([Utterance(line.text, line.pause_after_s, line.voice) for line in lines],
                         folder / f"{name}.wav")
    video = wrap_as_video(folder / f"{name}.wav", folder / f"{name}.mp4")
    expected = [
        ExpectedQuestion(line.text, line.label, span.start_s,
                         round(spans[i + 1].start_s - span.end_s, 3) if i + 1 < len(spans) else None)
        for i, (line, span) in enumerate(zip(lines, spans)) if line.label
    ]
    return video, spans, expected
