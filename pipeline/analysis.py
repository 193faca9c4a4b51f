"""From chunk transcripts to the analysis of one video: steps 5 and 6 of DESIGN.md.

Assemble the words of all chunks in video time, split sentences, say who speaks
each one (educator or child, from the audio), find and classify questions, measure
wait times from the audio's speech regions, compute metrics and the coaching summary.

``audio`` (the video's sound, 16 kHz mono float) is what speaker attribution and
pause measurement listen to; without it every sentence is the educator's and wait
times come from Whisper's word times (the old behaviour, kept for callers that have
only transcripts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from models.speakers import SpeakerSettings, Voice, attribute_speakers
from models.voice_activity import SpeechRegion, VoiceActivitySettings, speech_regions
from pipeline.assembly import assemble_words, segments_for_output, split_sentences
from pipeline.metrics import coaching_summary, compute_metrics
from pipeline.questions import find_questions, split_run_on_questions
from pipeline.records import ChunkPlan, ChunkTranscript, Sentence, Word

MIN_UNIT_S = 0.2


@dataclass(frozen=True)
class Heard:
    """The talk in a recording: its sentences, who said each, and where speech is.

    ``voices`` are the stretches the speaker attribution judged, in time order: each
    sentence cut at the pauses the audio shows (so a sentence Whisper ran across two
    speakers is judged in pieces), plus the speech Whisper wrote no words for (a
    child's "Okay", often); ``owners`` gives each voice's sentence index (-1: no
    sentence). ``speakers`` has one role per sentence, the one that speaks most of it.
    Without audio all but ``sentences`` are None.
    """

    sentences: list[Sentence]
    voices: list[Voice] | None
    speakers: list[str] | None
    regions: list[SpeechRegion] | None
    owners: list[int] | None = None


def listen(words: list[Word], audio: np.ndarray | None, speakers: SpeakerSettings = SpeakerSettings(),
           voice_activity: VoiceActivitySettings = VoiceActivitySettings()) -> Heard:
    sentences = split_run_on_questions(split_sentences(words))
    if audio is None:
        return Heard(sentences, None, None, None)
    regions = speech_regions(audio, voice_activity)
    units = sorted(speech_units(sentences, regions) + unwritten_speech(sentences, regions))
    voices = attribute_speakers(audio, [(a, b) for a, b, _ in units], speakers)
    return Heard(sentences, voices, sentence_speakers(len(sentences), units, voices), regions,
                 [index for _, _, index in units])


def unwritten_speech(sentences: list[Sentence], regions: list[SpeechRegion],
                     min_s: float = MIN_UNIT_S) -> list[tuple[float, float, int]]:
    """Speech regions no sentence touches (sentence index -1): someone spoke, Whisper wrote nothing."""
    return [(r.start, r.end, -1) for r in regions if r.end - r.start >= min_s
            and not any(s.start < r.end and r.start < s.end for s in sentences)]


def speech_units(sentences: list[Sentence], regions: list[SpeechRegion]) -> list[tuple[float, float, int]]:
    """(start, end, sentence index): each sentence cut at the pauses inside it.

    A piece shorter than ``MIN_UNIT_S`` joins the piece before it (or after it); a
    sentence in which the detector heard no speech stays whole.
    """
    units = []
    for index, sentence in enumerate(sentences):
        pieces = [[max(r.start, sentence.start), min(r.end, sentence.end)] for r in regions
                  if r.end > sentence.start and r.start < sentence.end]
        pieces = [p for p in pieces if p[1] > p[0]] or [[sentence.start, sentence.end]]
        kept: list[list[float]] = []
        for piece in pieces:
            if kept and (piece[1] - piece[0] < MIN_UNIT_S or kept[-1][1] - kept[-1][0] < MIN_UNIT_S):
                kept[-1][1] = piece[1]
            else:
                kept.append(piece)
        units += [(a, b, index) for a, b in kept]
    return units


def sentence_speakers(count: int, units: list[tuple[float, float, int]], voices: list[Voice]) -> list[str]:
    """Each sentence's role: the one heard for most of its pieces' time."""
    seconds: list[dict[str, float]] = [{} for _ in range(count)]
    for (start, end, index), voice in zip(units, voices):
        if index < 0:
            continue
        seconds[index][voice.speaker] = seconds[index].get(voice.speaker, 0.0) + (end - start)
    return [max(heard, key=heard.get) if heard else "educator" for heard in seconds]


def analyze_chunks(chunks: Sequence[tuple[ChunkPlan, ChunkTranscript]], duration_s: float,
                   classify: Callable, audio: np.ndarray | None = None,
                   speakers: SpeakerSettings = SpeakerSettings(),
                   voice_activity: VoiceActivitySettings = VoiceActivitySettings(),
                   model_version: str = "") -> dict:
    """The analysis part of VideoAnalysis: language, segments, questions, speakers, metrics, summary."""
    words = assemble_words(list(chunks))
    heard = listen(words, audio, speakers, voice_activity)
    turns = None
    if heard.voices is not None:
        turns = [(v.start, v.speaker, owner) for v, owner in zip(heard.voices, heard.owners)]
    questions = find_questions(heard.sentences, words, classify, duration_s, speakers=heard.speakers,
                               regions=heard.regions, turns=turns, model_version=model_version)
    languages = Counter(t.language for _, t in chunks if t.language)
    return {
        "language": languages.most_common(1)[0][0] if languages else "en",
        "segments": segments_for_output(words),
        "questions": [q.to_dict() for q in questions],
        "speakers": speaker_summary(heard.voices or []),
        "metrics": compute_metrics(questions, duration_s).to_dict(),
        "summary": coaching_summary(questions, duration_s).to_dict(),
        "word_count": len(words),
    }


def speaker_summary(voices: list[Voice]) -> list[dict]:
    """One entry per voice heard: its role, how much it spoke and how high (for the demo and reviewers)."""
    summary = []
    for cluster in sorted({v.cluster for v in voices}):
        own = [v for v in voices if v.cluster == cluster]
        pitches = [v.pitch_hz for v in own if v.pitch_hz is not None]
        summary.append({
            "id": f"speaker-{cluster + 1}",
            "role": own[0].speaker,
            "speech_s": round(sum(v.end - v.start for v in own), 2),
            "stretches": len(own),
            "median_pitch_hz": round(float(np.median(pitches)), 1) if pitches else None,
        })
    return summary
