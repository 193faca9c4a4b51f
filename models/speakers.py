"""Who is speaking: the educator or a child, for each stretch of speech.

1. Each stretch (a sentence) gets a voice print, the GE2E speaker embedding
   (``models.voices.encoder``), and a pitch (``models.voices.pitch``).
2. Stretches long enough for a reliable print (``MIN_CLUSTER_S``) are clustered
   (average linkage on ``voice_distances``: cosine distance of the prints plus a
   term for the pitch difference), cut at ``cluster_distance``: one cluster per voice
   heard. Shorter ones ("Me, me!") join the cluster they are nearest to on average.
3. Roles are decided on the same tree cut higher, at ``role_distance``: room noise
   can split one voice into two clusters, but an adult and a child stay apart that
   far up (measured on the generated clips). The rule for the educator: among these
   groups with an adult voice (median pitch below ``child_pitch_hz``), the one with
   the most speech; if none sounds adult, the one with the most speech. Every other
   group is a child. The educator talks most, and children's voices are higher.

Per-video overrides (``SpeakerSettings``, passed in the pipeline's input) cover what
the rule gets wrong: ``child_pitch_hz`` for a high-voiced educator or older children,
``educator`` = "everyone" for a recording without children (one speaker, training
talk), = "pitch" to call every adult-sounding voice an educator (two adults in the
room).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from models.voices.pitch import median_pitch

SAMPLE_RATE = 16_000
EDUCATOR, CHILD = "educator", "child"
MIN_CLUSTER_S = 1.0
PITCH_WEIGHT = 0.3
RULES = ("most-speech", "pitch", "everyone")


class SpeakerSettingsError(ValueError):
    """A per-video speaker setting has a value the rule cannot use; the message says which."""


@dataclass(frozen=True)
class SpeakerSettings:
    educator: str = "most-speech"  # "most-speech" | "pitch" | "everyone"
    child_pitch_hz: float = 250.0  # median pitch at or above this is a child's voice
    cluster_distance: float = 0.35  # voice distance (see voice_distances) that separates two voices
    role_distance: float = 0.45  # distance that separates two speakers' roles (>= cluster_distance)

    @classmethod
    def from_dict(cls, data: dict | None) -> "SpeakerSettings":
        data = data or {}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise SpeakerSettingsError(f"unknown speaker setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**data)
        if settings.educator not in RULES:
            raise SpeakerSettingsError(f"speaker setting educator={settings.educator!r} is not one of {', '.join(RULES)}")
        for name in ("child_pitch_hz", "cluster_distance", "role_distance"):
            value = getattr(settings, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise SpeakerSettingsError(f"speaker setting {name}={value!r} is not a positive number")
        return settings

    def to_dict(self) -> dict:
        return {"educator": self.educator, "child_pitch_hz": self.child_pitch_hz,
                "cluster_distance": self.cluster_distance, "role_distance": self.role_distance}


@dataclass(frozen=True)
class Voice:
    """One stretch of speech as the attribution saw it."""

    start: float
    end: float
    cluster: int
    speaker: str  # "educator" | "child"
    pitch_hz: float | None


@dataclass
class _Stretch:
    start: float
    end: float
    embedding: np.ndarray | None = None
    pitch_hz: float | None = None
    cluster: int = -1
    group: int = -1  # the role group: clusters joined at role_distance

    @property
    def seconds(self) -> float:
        return self.end - self.start


def attribute_speakers(samples: np.ndarray, spans: Sequence[tuple[float, float]],
                       settings: SpeakerSettings = SpeakerSettings(), encoder=None) -> list[Voice]:
    """The speaker of each (start, end) span of float samples (16 kHz mono), in the given order."""
    if not spans:
        return []
    if settings.educator == "everyone":
        return [Voice(a, b, 0, EDUCATOR, None) for a, b in spans]
    if encoder is None:
        from models.voices.encoder import get_encoder

        encoder = get_encoder()
    stretches = [_Stretch(a, b) for a, b in spans]
    for stretch in stretches:
        audio = samples[int(stretch.start * SAMPLE_RATE): int(stretch.end * SAMPLE_RATE)]
        if len(audio) >= SAMPLE_RATE // 10:
            stretch.embedding = encoder.embed(audio)
            stretch.pitch_hz = median_pitch(audio)
    cluster_voices(stretches, settings.cluster_distance, max(settings.role_distance, settings.cluster_distance))
    roles = cluster_roles(stretches, settings)
    return [Voice(s.start, s.end, s.cluster, roles.get(s.cluster, CHILD), _round(s.pitch_hz)) for s in stretches]


def cluster_voices(stretches: list[_Stretch], distance: float, role_distance: float) -> None:
    """Set each stretch's ``cluster`` (one per voice, numbered by first appearance) and ``group``."""
    heard = [s for s in stretches if s.embedding is not None]
    if not heard:
        for s in stretches:
            s.cluster = s.group = 0
        return
    long_ones = [s for s in heard if s.seconds >= MIN_CLUSTER_S] or heard
    for stretch, (label, group) in zip(long_ones, _average_linkage(long_ones, distance, role_distance)):
        stretch.cluster, stretch.group = label, group
    group_of = {s.cluster: s.group for s in long_ones}
    for stretch in stretches:
        if stretch.cluster >= 0:
            continue
        if stretch.embedding is None:  # too short to hear: the cluster of the stretch before it
            before = [s for s in stretches if s.end <= stretch.start and s.cluster >= 0]
            stretch.cluster = max(before, key=lambda s: s.end).cluster if before else long_ones[0].cluster
        else:  # a short stretch joins the cluster it is nearest to on average (average linkage again)
            distances = voice_distances([stretch], long_ones)[0]
            labels_array = np.array([s.cluster for s in long_ones])
            stretch.cluster = int(min(set(labels_array.tolist()),
                                      key=lambda label: float(distances[labels_array == label].mean())))
        stretch.group = group_of[stretch.cluster]
    order: dict[int, int] = {}
    for stretch in stretches:
        order.setdefault(stretch.cluster, len(order))
    for stretch in stretches:
        stretch.cluster = order[stretch.cluster]


def cluster_roles(stretches: list[_Stretch], settings: SpeakerSettings) -> dict[int, str]:
    """The role of each cluster: its group's (see the module's rule)."""
    roles = group_roles(stretches, settings)
    return {s.cluster: roles[s.group] for s in stretches}


def group_roles(stretches: list[_Stretch], settings: SpeakerSettings) -> dict[int, str]:
    """Which group is the educator; every other one is a child."""
    speech, pitch = {}, {}
    for label in {s.group for s in stretches}:
        own = [s for s in stretches if s.group == label]
        speech[label] = sum(s.seconds for s in own)
        pitches = [s.pitch_hz for s in own if s.pitch_hz is not None]
        weights = [s.seconds for s in own if s.pitch_hz is not None]
        pitch[label] = _weighted_median(pitches, weights) if pitches else None
    adult = [label for label in speech if pitch[label] is None or pitch[label] < settings.child_pitch_hz]
    if settings.educator == "pitch":
        educators = set(adult) or {max(speech, key=speech.get)}
    else:
        educators = {max(adult or speech, key=speech.get)}
    return {label: EDUCATOR if label in educators else CHILD for label in speech}


def voice_distances(rows: list[_Stretch], columns: list[_Stretch]) -> np.ndarray:
    """Distance of voices: cosine distance of their prints plus ``PITCH_WEIGHT`` per octave
    between their pitches (a child is ~0.6 octave above a woman, ~1.5 above a man)."""
    def features(stretches):
        embeddings = np.stack([s.embedding for s in stretches]).astype(np.float64)
        return embeddings, np.array([np.log2(s.pitch_hz) if s.pitch_hz else np.nan for s in stretches])

    (a, pitch_a), (b, pitch_b) = features(rows), features(columns)
    octaves = np.nan_to_num(np.abs(pitch_a[:, None] - pitch_b[None, :]), nan=0.0)
    return np.clip(1.0 - a @ b.T + PITCH_WEIGHT * octaves, 0.0, None)


def _average_linkage(stretches: list[_Stretch], distance: float, role_distance: float) -> list[tuple[int, int]]:
    """(cluster, group) of each stretch: one tree (average linkage on ``voice_distances``) cut twice."""
    if len(stretches) == 1:
        return [(0, 0)]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    matrix = voice_distances(stretches, stretches)
    np.fill_diagonal(matrix, 0.0)
    tree = linkage(squareform(matrix, checks=False), method="average")
    clusters = fcluster(tree, t=distance, criterion="distance")
    groups = fcluster(tree, t=role_distance, criterion="distance")
    return [(int(c) - 1, int(g) - 1) for c, g in zip(clusters, groups)]


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
