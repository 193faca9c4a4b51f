"""Accuracy on audio: generated classroom clips and real recorded speech (prints a table).

    .venv/bin/python bench/accuracy_audio.py [--models base tiny.en] [--beams 5 1] [--no-vad-rows]
        [--sets generated real]

One function per kind of evaluation set, each returning rows (plain dicts) with the
same columns, so that a report over every set (text sets included) can merge them:

- ``generated_rows``: the classroom clips of ``tests/classroom_clips.py`` (espeak-ng
  educator and children's voices, known pauses, known questions) clean and under pink
  room noise at 20 and 10 dB SNR;
- ``real_audio_rows``: ``../shared/eval/real_audio/`` (real recorded speech: word
  references for WER, speaker turns for DER, a known pause for wait time). Skipped with
  a note when the folder is absent.

Columns: question recall and precision (the educator's questions: a found question
matches a true one starting within 1 s), label accuracy (matched questions), speaker
accuracy of questions (educator/child, all matched questions), wait-time mean absolute
error, word error rate (jiwer, after lower-casing and dropping punctuation), diarization
error rate (pyannote.metrics, 0.25 s forgiveness collar on each side of a reference
boundary, overlap scored; hypothesis = each sentence with its voice cluster), and
seconds of processing per minute of audio (transcription + analysis in this process,
model load excluded). Each row runs the same code as the pipeline's analyze step on
the whole file as one chunk.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from models.oeq_ceq.classifier import QuestionClassifier  # noqa: E402
from models.speech import Transcript  # noqa: E402
from models.transcriber import DecodeSettings, TranscriberSettings, get_transcriber  # noqa: E402
from models.voice_activity import next_speech_after, region_around, speech_regions  # noqa: E402
from pipeline.analysis import analyze_chunks, listen  # noqa: E402
from pipeline.assembly import assemble_words  # noqa: E402
from pipeline.audio import read_audio  # noqa: E402
from pipeline.records import ChunkPlan, ChunkTranscript  # noqa: E402

REAL_AUDIO = REPO.parent / "shared" / "eval" / "real_audio"
# pyannote.metrics says, per file, that it scores the union of reference and hypothesis: intended here.
warnings.filterwarnings("ignore", message="'uem' was approximated")
START_MATCH_S = 1.0
NOISE_LEVELS = (None, 20.0, 10.0)  # SNR in dB; None: no noise
COLUMNS = ("set", "model", "beam", "vad", "questions", "recall", "precision", "label_acc", "speaker_acc", "wait_mae_s",
           "wer", "der", "s_per_audio_min")


@dataclass(frozen=True)
class Config:
    model: str
    vad: bool = True
    beam: int = 5

    def transcriber(self):
        return get_transcriber(TranscriberSettings(model=self.model, beam_size=self.beam,
                                                   decode=DecodeSettings(vad=self.vad)))


@dataclass
class Run:
    """One file through transcription and analysis."""

    transcript: Transcript
    audio: np.ndarray
    analysis: dict
    heard: object
    seconds: float


def run_file(path: Path, config: Config, classifier: QuestionClassifier, channel: int | None = None) -> Run:
    transcriber = config.transcriber()  # loaded (and cached) before the clock starts
    with tempfile.TemporaryDirectory() as tmp:
        if channel is not None:  # one channel of a stereo file, as its own mono WAV
            import ffmpeg

            mono = str(Path(tmp) / "channel.wav")
            (ffmpeg.input(str(path)).output(mono, af=f"pan=mono|c0=c{channel}", ar=16000)
             .overwrite_output().run(quiet=True))
            path = Path(mono)
        started = time.perf_counter()
        transcript = transcriber.transcribe(path)
        audio = read_audio(str(path))
    duration = len(audio) / 16_000
    chunk = ChunkTranscript(0, transcript.language, tuple(transcript.words), transcript.segments)
    plan = ChunkPlan(0, 0.0, duration, 0.0, duration)
    analysis = analyze_chunks([(plan, chunk)], duration, classifier.classify, audio=audio,
                              model_version=classifier.version)
    seconds = time.perf_counter() - started
    heard = listen(assemble_words([(plan, chunk)]), audio)
    return Run(transcript, audio, analysis, heard, seconds)


# ---------------------------------------------------------------------------------------
# measures


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ").replace("’", "'")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    return float(jiwer.wer([normalise(r) for r in references], [normalise(h) or "<empty>" for h in hypotheses]))


def diarization_error_rate(reference: list[tuple[float, float, str]],
                           hypothesis: list[tuple[float, float, str]]) -> tuple[float, float]:
    """(error seconds, reference seconds): summed over files, then divided, as DER is."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for i, (start, end, who) in enumerate(reference):
        ref[Segment(start, end), i] = who
    for i, (start, end, who) in enumerate(hypothesis):
        if end > start:
            hyp[Segment(start, end), i] = who
    details = DiarizationErrorRate(collar=0.5, skip_overlap=False)(ref, hyp, detailed=True)
    return details["confusion"] + details["missed detection"] + details["false alarm"], details["total"]


def hypothesis_turns(run: Run) -> list[tuple[float, float, str]]:
    return [(v.start, v.end, f"voice-{v.cluster}") for v in run.heard.voices]


def question_scores(found: list[dict], expected) -> dict:
    """Match each expected question to the found one starting nearest (within 1 s)."""
    pairs, used = [], set()
    for truth in expected:
        candidates = [(abs(q["start"] - truth.start_s), i) for i, q in enumerate(found)
                      if i not in used and abs(q["start"] - truth.start_s) < START_MATCH_S]
        if candidates:
            _, i = min(candidates)
            used.add(i)
            pairs.append((truth, found[i]))
    educator_truths = [t for t in expected if t.speaker == "educator"]
    educator_found = [q for q in found if q["speaker"] == "educator"]
    educator_pairs = [(t, q) for t, q in pairs if t.speaker == "educator" and q["speaker"] == "educator"]
    waits = [abs(q["wait_time_s"] - t.wait_time_s) for t, q in educator_pairs
             if t.wait_time_s is not None and q["wait_time_s"] is not None]
    return {
        "truths": len(educator_truths), "found": len(educator_found), "matched": len(educator_pairs),
        "labels_right": sum(t.label == q["label"] for t, q in educator_pairs),
        "speakers_right": sum(t.speaker == q["speaker"] for t, q in pairs), "pairs": len(pairs),
        "wait_errors": waits,
    }


# ---------------------------------------------------------------------------------------
# evaluation sets


def generated_rows(configs: list[Config], classifier: QuestionClassifier) -> list[dict]:
    from tests.classroom_clips import CHILD_QUESTION_CLIPS, CLIPS, VOICE_NAMES, make_clip

    clips = {**CLIPS, **CHILD_QUESTION_CLIPS}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for snr in NOISE_LEVELS:
            made = {name: make_clip(lines, folder, f"{name}-{snr}", snr_db=snr) for name, lines in clips.items()}
            for config in configs:
                scores, refs, hyps, der, seconds, minutes = [], [], [], [0.0, 0.0], 0.0, 0.0
                for name, (video, spans, expected) in made.items():
                    run = run_file(video.with_suffix(".wav"), config, classifier)
                    scores.append(question_scores(run.analysis["questions"], expected))
                    refs.append(" ".join(line.text for line in clips[name]))
                    hyps.append(" ".join(s.text for s in run.transcript.segments))
                    reference = [(s.start_s, s.end_s, VOICE_NAMES[line.voice]) for s, line in zip(spans, clips[name])]
                    error, total = diarization_error_rate(reference, hypothesis_turns(run))
                    der[0], der[1] = der[0] + error, der[1] + total
                    seconds += run.seconds
                    minutes += len(run.audio) / 16_000 / 60
                rows.append(_row(f"generated {'clean' if snr is None else f'{snr:.0f} dB SNR'} ({len(made)} clips)",
                                 config, scores, word_error_rate(refs, hyps), der[0] / der[1], seconds / minutes))
    return rows


REAL_WER = {  # file: reference words (from the eval README and the .stm)
    "whisper_tests_jfk.flac": "And so my fellow Americans, ask not what your country can do for you, "
                              "ask what you can do for your country.",
    "lhotse_ami_ES2011a_Headset-0_40-46s.wav": "I'm Abigail Claflin. You can call me Abbie.",
}
REAL_STEREO = ("faster_whisper_stereo_diarization.wav", [
    "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
    "The horizon seems extremely distant."])
REAL_DER = {"pyannote_sample.wav": ("pyannote_sample.rttm", "sample"),
            "pyannote_tests_ami_dev00.wav": ("pyannote_tests_debug.development.rttm", "dev00"),
            "pyannote_tests_ami_tst00.wav": ("pyannote_tests_debug.test.rttm", "tst00")}
# A pause known to the centisecond: the lhotse clip's two utterances (README of the eval set).
REAL_PAUSES = {"lhotse_ami_ES2011a_Headset-0_40-46s.wav": [(2.82, 3.36)]}


def read_rttm(path: Path, uri: str) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER" and parts[1] == uri:
            start, length = float(parts[3]), float(parts[4])
            turns.append((start, start + length, parts[7]))
    return turns


def read_stm(path: Path) -> tuple[str, list[tuple[float, float]]]:
    """The reference words and the pauses between consecutive turns (> 0.3 s) of an .stm file."""
    lines = [line.split(maxsplit=5) for line in path.read_text().splitlines() if line.strip()]
    words = " ".join(parts[5] for parts in lines)
    pauses = [(float(a[4]), float(b[3])) for a, b in zip(lines, lines[1:]) if float(b[3]) - float(a[4]) > 0.3]
    return words, pauses


def real_audio_rows(configs: list[Config], classifier: QuestionClassifier, folder: Path = REAL_AUDIO) -> list[dict]:
    if not folder.is_dir():
        print(f"(real audio skipped: {folder} is absent)", file=sys.stderr)
        return []
    stm_words, stm_pauses = read_stm(folder / "pyannote_sample.stm")
    pauses = {**REAL_PAUSES, "pyannote_sample.wav": stm_pauses}
    rows = []
    for config in configs:
        refs, hyps, der, seconds, minutes, wait_errors = [], [], [0.0, 0.0], 0.0, 0.0, []
        runs = {}
        for name in [*REAL_WER, *REAL_DER]:
            runs[name] = run = run_file(folder / name, config, classifier)
            seconds += run.seconds
            minutes += len(run.audio) / 16_000 / 60
        for channel, reference in enumerate(REAL_STEREO[1]):
            run = run_file(folder / REAL_STEREO[0], config, classifier, channel=channel)
            refs.append(reference)
            hyps.append(" ".join(s.text for s in run.transcript.segments))
            seconds += run.seconds
            minutes += len(run.audio) / 16_000 / 60
        for name, reference in [*REAL_WER.items(), ("pyannote_sample.wav", stm_words)]:
            refs.append(reference)
            hyps.append(" ".join(s.text for s in runs[name].transcript.segments))
        for name, (rttm, uri) in REAL_DER.items():
            error, total = diarization_error_rate(read_rttm(folder / rttm, uri), hypothesis_turns(runs[name]))
            der[0], der[1] = der[0] + error, der[1] + total
        for name, known in pauses.items():
            regions = speech_regions(runs[name].audio)
            for end, start in known:
                wait_errors.append(abs(_measured_pause(regions, end, start) - (start - end)))
        rows.append(_row(f"real audio ({len(REAL_WER) + len(REAL_DER) + 1} recordings)", config, [],
                         word_error_rate(refs, hyps), der[0] / der[1], seconds / minutes, wait_errors))
    return rows


def _measured_pause(regions, end: float, start: float) -> float:
    """The pause the detector hears between speech ending near ``end`` and speech starting near ``start``."""
    before = region_around(regions, end - 0.3, end)
    if before is None:
        return 0.0
    after = next_speech_after(regions, before.end)
    return 0.0 if after is None else after.start - before.end


def _row(name: str, config: Config, scores: list[dict], wer: float, der: float, per_minute: float,
         wait_errors: list[float] | None = None) -> dict:
    total = {key: sum(s[key] for s in scores) for key in ("truths", "found", "matched", "labels_right",
                                                          "speakers_right", "pairs")} if scores else {}
    waits = wait_errors if wait_errors is not None else [e for s in scores for e in s["wait_errors"]]
    share = lambda part, whole: round(part / whole, 3) if whole else None  # noqa: E731
    return {
        "set": name, "model": config.model, "beam": config.beam, "vad": "on" if config.vad else "off",
        "questions": total.get("truths"),
        "recall": share(total.get("matched", 0), total.get("truths", 0)),
        "precision": share(total.get("matched", 0), total.get("found", 0)),
        "label_acc": share(total.get("labels_right", 0), total.get("matched", 0)),
        "speaker_acc": share(total.get("speakers_right", 0), total.get("pairs", 0)),
        "wait_mae_s": round(fmean(waits), 3) if waits else None,
        "wer": round(wer, 3), "der": round(der, 3), "s_per_audio_min": round(per_minute, 2),
    }


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join("–" if row[c] is None else str(row[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"])
    parser.add_argument("--beams", nargs="+", type=int, default=[5], help="beam sizes to compare")
    parser.add_argument("--no-vad-rows", action="store_true", help="skip the rows with Silero VAD off")
    parser.add_argument("--sets", nargs="+", default=["generated", "real"], choices=["generated", "real"])
    args = parser.parse_args()
    configs = [Config(m, vad, beam) for m in args.models for beam in args.beams
               for vad in ((True,) if args.no_vad_rows else (True, False))]
    classifier = QuestionClassifier()
    started = time.perf_counter()
    rows = []
    if "generated" in args.sets:
        rows += generated_rows(configs, classifier)
    if "real" in args.sets:
        rows += real_audio_rows(configs, classifier)
    print(markdown_table(rows))
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
