"""Generated classroom clips with known questions, labels and wait times, for the
end-to-end tests. An educator voice asks, a child voice answers after known pauses.

Each clip is long enough to be cut into chunks at the default 30 s, and ``BLOCKS``
puts speech across the first chunk seam (28-30 s) so a boundary falls inside words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.speech_fixtures import SpokenSpan, Utterance, Voice, add_room_noise, build_speech, wrap_as_video

# An adult woman's voice (~200 Hz) and two children's (~310 Hz and ~290 Hz): young
# children speak well above adults, which the speaker attribution relies on.
EDUCATOR, CHILD, OTHER_CHILD = Voice("en-us+f3"), Voice("en-us+f5", pitch=90), Voice("en-us+f4", pitch=90)


@dataclass(frozen=True)
class Line:
    voice: Voice
    text: str
    pause_after_s: float
    label: str | None = None  # the expected label when the line is a question


@dataclass(frozen=True)
class ExpectedQuestion:
    text: str
    label: str
    start_s: float
    wait_time_s: float | None
    speaker: str = "educator"
    answered: bool = False


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


def make_clip(lines: list[Line], folder: Path, name: str,
              snr_db: float | None = None) -> tuple[Path, list[SpokenSpan], list[ExpectedQuestion]]:
    """The clip as an MP4 (and a WAV beside it); ``snr_db``: with room noise that far below the speech."""
    wav = folder / f"{name}.wav"
    spans = build_speech([Utterance(line.text, line.pause_after_s, line.voice) for line in lines], wav)
    if snr_db is not None:
        wav = add_room_noise(wav, wav, snr_db)
    video = wrap_as_video(wav, folder / f"{name}.mp4")
    expected = [
        ExpectedQuestion(line.text, line.label, span.start_s,
                         round(spans[i + 1].start_s - span.end_s, 3) if i + 1 < len(spans) else None,
                         SPEAKERS[line.voice],
                         SPEAKERS[line.voice] == "educator" and i + 1 < len(lines)
                         and SPEAKERS[lines[i + 1].voice] == "child")
        for i, (line, span) in enumerate(zip(lines, spans)) if line.label
    ]
    return video, spans, expected


# Children ask questions too ("Can I have a turn now?"): they are shown as the
# children's and left out of the educator's metrics. Two children, short pauses.
ROOM = [
    Line(EDUCATOR, "Look, I found a feather on the playground.", 0.8),
    Line(EDUCATOR, "What do you notice about it?", 2.6, "OEQ"),
    Line(CHILD, "It is soft and grey.", 0.6),
    Line(OTHER_CHILD, "Can I have a turn now?", 0.9, "CEQ"),
    Line(EDUCATOR, "Yes, after Sam.", 1.0),
    Line(EDUCATOR, "Where do you think it came from?", 3.1, "OEQ"),
    Line(OTHER_CHILD, "A bird.", 1.1),
    Line(CHILD, "Where did the feather go?", 0.7, "CEQ"),
    Line(EDUCATOR, "It is in my hand.", 0.9),
    Line(EDUCATOR, "Is it heavy or light?", 1.9, "CEQ"),
    Line(CHILD, "Light.", 1.0),
]

CHILD_QUESTION_CLIPS = {"room": ROOM}
SPEAKERS = {EDUCATOR: "educator", CHILD: "child", OTHER_CHILD: "child"}
VOICE_NAMES = {EDUCATOR: "educator", CHILD: "child-1", OTHER_CHILD: "child-2"}
