"""Which sentences are the educator's questions, what kind, and how long the children got to answer.

Whisper usually writes '?' after a question, but not always — spoken questions often
end flat, and a question a coach cares about can be a prompt with no question form
at all ("Tell me about your tower."). So ``is_question`` trusts a '?' and otherwise
reads the sentence's shape, clause by clause (commas split clauses, so "Maya, how
did you…" and "…, isn't it" are seen):

- wh-openings (what/why/how/where/when/who/whose/which), also after fillers and
  discourse markers ("um okay so what…") or a child's name, but not wh-clauses used
  as a subject or adverbial, which put a subject right after the wh-word ("what you
  did", "when we finish", "how big it is"), nor exclamatives ("What a big tower");
- auxiliary inversion: an auxiliary or modal followed by a subject ("is that the
  red one", "do you want more", "want some juice");
- tag questions: a statement then ", right" / ", okay" / ", yeah" / ", huh", or an
  inverted tag such as ", isn't it";
- open prompts that coaches count as questions: "tell me about/how/why/what/more…",
  "describe…", "explain…", "I wonder why/how/what/if…", "show me how/what…".

Decisions, documented here because they are judgement calls:
- a sentence ending in '!' is an exclamation unless it is one of the prompts above
  ("Isn't that cool!" no; "Tell me more!" yes);
- suggestions are not questions without a '?': "how about we clean up",
  "why don't we clean up" (with a '?' Whisper heard question intonation: yes);
- "do"/"have" + an object ("do it again", "have a seat") are commands, so they need
  a personal subject ("do you…", "have you…") to count;
- "tell me when you're done" is an instruction, not a prompt.

``find_questions`` then classifies all questions in one batch, says who asked each
(the speaker attribution of its sentence) and measures the wait time after each, as
researchers define it: the silence after the question until anyone speaks, taken
from the audio's speech regions (``models.voice_activity``), not from Whisper's word
ends, which drift by tenths of a second and move with every misheard word. Whisper's
words only say *which* stretch of speech is the question: the region its last word
falls in. A question is ``answered`` when the next sentence is a child's.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Callable, Sequence

from models.voice_activity import SpeechRegion, next_speech_after, region_around
from pipeline.records import Question, Sentence, Word

__all__ = ["classification_text", "find_questions", "is_question", "split_run_on_questions", "wait_time_after",
           "wait_time_from_audio"]

RUN_ON_PAUSE_S = 0.45  # a pause this long before a question opening ends an unpunctuated sentence
CONTEXT_GAP_S = 1.5  # a statement ending this soon before a short question is its context
SHORT_QUESTION_WORDS = 2  # "Why?", "How come?", "Which one?" need context to classify

WH_WORDS = {"what", "why", "how", "where", "when", "who", "whose", "which"}
AUXILIARIES = {
    "is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would",
    "should", "shall", "may", "might", "must", "have", "has", "had",
    "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't", "can't", "couldn't",
    "won't", "wouldn't", "shouldn't", "haven't", "hasn't", "hadn't", "mightn't", "mustn't",
}
INVERSION_OPENERS = AUXILIARIES - {"am", "had", "might", "must", "hadn't", "mightn't", "mustn't"} | {"want"}
PERSONAL_SUBJECTS = {
    "i", "you", "we", "they", "he", "she", "y'all", "everyone", "everybody", "anyone", "anybody",
    "someone", "somebody", "these", "those",
}
SUBJECTS = PERSONAL_SUBJECTS | {"it", "this", "that", "there"}
DETERMINERS = {"the", "a", "an", "some", "any", "more", "my", "your", "his", "her", "our", "their", "its"}
FILLERS = {
    "um", "uh", "uhm", "umm", "erm", "er", "ah", "hmm", "hm", "mm", "mhm", "okay", "ok", "so", "well",
    "now", "and", "but", "or", "alright", "right", "oh", "hey", "then", "like", "yeah", "yes", "no", "wow", "oops",
}
TAGS = {"right", "okay", "ok", "yeah", "huh", "eh"}
HOW_DEGREE = {"many", "much", "long", "old", "often", "far"}
TELL_ABOUT = {"about", "how", "why", "what", "more", "where", "who", "which", "if", "whether",
              "something", "anything", "everything"}
WONDER_ABOUT = WH_WORDS | {"if", "whether"}

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)*")
_CLAUSE_BREAK = re.compile(r"[,;:—–]|\s-\s")
_TRAILING_MARKS = "\"')]”’ "


# ---------------------------------------------------------------------------
# is it a question?


def is_question(text: str) -> bool:
    text = text.replace("’", "'").strip().rstrip(_TRAILING_MARKS)
    if text.endswith("?"):
        return True
    clauses = [tokens for tokens in map(_TOKEN.findall, _CLAUSE_BREAK.split(text)) if tokens]
    said = [_without_openers(clause) for clause in clauses]
    if not any(said):
        return False  # "okay.", "yeah, yeah."
    if any(is_prompt(clause) for clause in said if clause):
        return True
    if text.endswith("!"):
        return False  # exclamatives: "What a big tower!", "Isn't that cool!"
    if ends_with_tag(clauses):
        return True
    return any(is_interrogative(clause, opens_sentence=_only_openers(clauses[:i]))
               for i, clause in enumerate(said) if clause)


def is_prompt(tokens: list[str]) -> bool:
    """Open invitations to talk: "tell me about…", "describe…", "I wonder why…", "show me how…"."""
    words = [t.lower() for t in tokens]
    first, rest = words[0], words[1:]
    if first in {"describe", "explain"}:
        return True
    if first == "tell" and rest[:1] in (["me"], ["us"]):
        return rest[1:2] == [] or rest[1] in TELL_ABOUT
    if first == "show" and rest[:1] in (["me"], ["us"]):
        return len(rest) > 1 and rest[1] in {"how", "what", "where", "which", "who"}
    if first in {"i", "we"} and rest[:1] == ["wonder"]:
        return len(rest) > 1 and rest[1] in WONDER_ABOUT
    if words[:2] in (["i'm", "wondering"], ["we're", "wondering"]) or words[:3] == ["i", "am", "wondering"]:
        return True
    return False


def ends_with_tag(raw_clauses: list[list[str]]) -> bool:
    """"It's heavy, right" — a one-word tag after a clause that says something."""
    if len(raw_clauses) < 2 or [t.lower() for t in raw_clauses[-1]] not in [[tag] for tag in TAGS]:
        return False
    return any(_without_openers(clause) for clause in raw_clauses[:-1])


def is_interrogative(tokens: list[str], opens_sentence: bool = True) -> bool:
    """A clause (openers already removed) in question form: a wh-question or auxiliary inversion.

    After a clause that says something, "which/who/whose/where/when" start a relative
    clause ("the red one, which is big"), not a question; "what/how/why" still ask
    ("Look at this, what do you see").
    """
    first = tokens[0].lower()
    if _wh_base(first) in WH_WORDS:
        return (opens_sentence or _wh_base(first) in {"what", "how", "why"}) and _is_wh_question(tokens)
    if first in INVERSION_OPENERS:
        return _is_inversion(tokens)
    if _is_name(tokens[0]) and len(tokens) > 1 and _wh_base(tokens[1].lower()) in WH_WORDS:
        # "Maya how did you do it" — but "See what happens", "Guess what": only an inverted wh-clause counts
        return "'" in tokens[1] or _auxiliary_before_subject(tokens[2:]) is True
    return False


def _is_wh_question(tokens: list[str]) -> bool:
    wh = tokens[0].lower()
    if "'" in wh:
        return True  # "what's", "where'd", "how's"
    rest = tokens[1:]
    if not rest:
        return True  # "Why." "What."
    following = rest[0].lower()
    if wh == "why":
        return [t.lower() for t in rest[:2]] != ["don't", "we"]  # "why don't we…" is a suggestion
    if wh == "how" and following == "come":
        return True  # "how come it fell"
    if wh == "how" and following == "about":
        return False  # "how about we clean up" is a suggestion
    if wh == "what" and following in {"a", "an"}:
        return False  # "what a big tower"
    if wh == "what" and following in {"about", "if"}:
        return True  # "what if we add water", "what about this one"
    if wh in {"who", "what"} and _looks_like_verb(following):
        return True  # subject questions: "who wants a turn", "what happened", "what makes it sink"
    inverted = _auxiliary_before_subject(rest)
    if inverted is not None:
        return inverted  # "what do you see", "how many blocks are there" / "what you did", "how big it is"
    if wh == "how":
        return following in HOW_DEGREE  # "how many", "how long" — but not "how wonderful"
    return wh in {"what", "who", "which", "whose"}  # "what colour", "which one"


def _auxiliary_before_subject(rest: list[str]) -> bool | None:
    """After a wh-word: an auxiliary first means a question, a subject first an embedded clause."""
    for token in rest[:4]:
        if _is_subject(token):
            return False
        if _is_auxiliary(token):
            return True
    return None


def _is_inversion(tokens: list[str]) -> bool:
    if len(tokens) < 2:
        return False
    opener, subject = tokens[0].lower(), tokens[1]
    if opener in {"do", "don't", "have", "haven't"}:
        # "do it again", "have a seat" are commands; a question names who does it
        return subject.lower() in PERSONAL_SUBJECTS or _is_name(subject)
    if opener == "want":
        return subject.lower() in {"you", "me", "some", "more", "any", "a", "an", "to"} or _is_name(subject)
    return _is_subject(subject)


def _only_openers(clauses: list[list[str]]) -> bool:
    """Nothing said yet: the clauses are fillers or a child's name ("Okay, Maya, …")."""
    return all(len(rest) == 0 or (len(rest) == 1 and _is_name(rest[0])) for rest in map(_without_openers, clauses))


def _without_openers(tokens: list[str]) -> list[str]:
    """Drop fillers and discourse markers at the start: "um okay so what…" -> "what…"."""
    i = 0
    while i < len(tokens):
        word = tokens[i].lower()
        if word in FILLERS:
            i += 1
        elif word == "all" and i + 1 < len(tokens) and tokens[i + 1].lower() == "right":
            i += 2
        else:
            break
    return tokens[i:]


def _wh_base(word: str) -> str:
    return word.split("'")[0]


def _is_subject(token: str) -> bool:
    base = token.lower().split("'")[0]
    return base in SUBJECTS or base in DETERMINERS or _is_name(token)


def _is_auxiliary(token: str) -> bool:
    word = token.lower()
    return word in AUXILIARIES or word.endswith(("'s", "'re"))  # "which one's yours", "what colour's that"


def _is_name(token: str) -> bool:
    """Whisper capitalises names mid-sentence; clause starts other than the sentence's are lower-case."""
    return token[:1].isupper() and token.lower() not in WH_WORDS | AUXILIARIES | FILLERS | {"i"}


def _looks_like_verb(word: str) -> bool:
    if word in SUBJECTS or word in DETERMINERS or word in AUXILIARIES:
        return False
    return word.endswith("ed") or (word.endswith("s") and not word.endswith(("ss", "'s")))


# ---------------------------------------------------------------------------
# questions from sentences


def split_run_on_questions(sentences: list[Sentence], min_pause_s: float = RUN_ON_PAUSE_S) -> list[Sentence]:
    """Split sentences Whisper left unpunctuated where a question visibly starts.

    With little context (a short chunk, fast speech) Whisper can run "look at the
    truck what do you think is inside" together; a pause of ``min_pause_s`` or more
    followed by a question opening (a wh-question, auxiliary inversion or an open
    prompt such as "tell me about…") is a sentence boundary the punctuation missed.
    """
    result = []
    for sentence in sentences:
        words, start = list(sentence.words), 0
        for i in range(1, len(words)):
            if words[i].start - words[i - 1].end < min_pause_s:
                continue
            tokens = [t for w in words[i:] for t in _TOKEN.findall(w.text)]
            said = _without_openers(tokens) or tokens
            if tokens and (is_interrogative(said) or is_prompt(said)):
                result.append(_sentence(words[start:i]))
                start = i
        result.append(_sentence(words[start:]) if start else sentence)
    return result


def _sentence(words: list[Word]) -> Sentence:
    text = " ".join(" ".join(w.text for w in words).split())
    return Sentence(start=words[0].start, end=words[-1].end, text=text, words=tuple(words))


def find_questions(sentences: list[Sentence], words: list[Word], classify: Callable, duration_s: float,
                   speakers: Sequence[str] | None = None, regions: Sequence[SpeechRegion] | None = None,
                   turns: Sequence[tuple[float, str, int]] | None = None, model_version: str = "") -> list[Question]:
    """The question sentences, labelled OEQ/CEQ in one ``classify`` call, with who asked and their wait times.

    ``speakers``: "educator"/"child" for each sentence (None: all the educator's).
    ``turns``: (start, speaker, sentence index or -1) of every stretch of speech heard, in
    time order, including speech Whisper wrote nothing for; a question is answered when
    the first stretch after it is a child's. Without them, when the next sentence is.
    ``regions``: the speech heard in the audio; without them (no audio) the wait time
    falls back to the gap between Whisper's words. ``duration_s`` bounds the times:
    Whisper can place a last word's end a few milliseconds past the end of the audio.
    """
    if speakers is not None and len(speakers) != len(sentences):
        raise ValueError(f"{len(speakers)} speakers for {len(sentences)} sentences")
    picked = [i for i, sentence in enumerate(sentences) if is_question(sentence.text)]
    if not picked:
        return []
    texts = [classification_text(sentences[i], sentences[i - 1] if i > 0 else None) for i in picked]
    predictions = list(classify(texts))
    if len(predictions) != len(texts):
        raise ValueError(f"classifier returned {len(predictions)} predictions for {len(texts)} questions")
    starts = [word.start for word in words]
    questions = []
    for i, prediction in zip(picked, predictions):
        sentence = sentences[i]
        following = sentences[i + 1] if i + 1 < len(sentences) else None
        end = min(sentence.end, duration_s) if duration_s > 0 else sentence.end
        if regions is None:
            wait = _wait_time(end, _word_after(sentence, words, starts))
        else:
            wait = wait_time_from_audio(sentence, following, regions)
        questions.append(Question(
            start=min(sentence.start, end),
            end=end,
            text=sentence.text,
            label=prediction.label,
            oeq_probability=float(prediction.oeq_probability),
            wait_time_s=wait,
            speaker=speakers[i] if speakers is not None else "educator",
            answered=_answered(i, speakers, turns),
            model_version=getattr(prediction, "model_version", "") or model_version,
        ))
    return questions


def _answered(index: int, speakers: Sequence[str] | None, turns: Sequence[tuple[float, str, int]] | None) -> bool:
    """A child spoke before the educator went on: the next speech after the question is a child's."""
    if turns is not None:
        own = [start for start, _, owner in turns if owner == index]
        after = [speaker for start, speaker, owner in turns if owner != index and own and start > own[-1]]
        return bool(after) and after[0] == "child"
    return speakers is not None and index + 1 < len(speakers) and speakers[index + 1] == "child"


def wait_time_from_audio(question: Sentence, following: Sentence | None,
                         regions: Sequence[SpeechRegion]) -> float | None:
    """Seconds from the end of the question's speech region to the start of the next one.

    0.0 when the next sentence's first word lies in the question's own region (no pause
    long enough to split them); None when no speech follows. A question whose last word
    falls in no region at all (the detector heard no speech there) ends at the word.
    """
    regions = list(regions)
    last = question.words[-1] if question.words else Word(question.start, question.end, "")
    own = region_around(regions, last.start, last.end)
    end = own.end if own is not None else last.end
    if following is not None and following.words and own is not None:
        first = following.words[0]
        if region_around(regions, first.start, first.end) == own:
            return 0.0
    nxt = next_speech_after(regions, end)
    return None if nxt is None else round(float(max(0.0, nxt.start - end)), 2)


def classification_text(question: Sentence, previous: Sentence | None) -> str:
    """The question, or "statement + question" when a short question leans on what was just said.

    "Why?" alone says little; "It sank. Why?" says it asks for an explanation. The
    previous sentence counts as context only if it is a statement (not a question of
    its own) ending less than ``CONTEXT_GAP_S`` before the question starts and the
    question has at most ``SHORT_QUESTION_WORDS`` words.
    """
    if previous is None or len(question.text.split()) > SHORT_QUESTION_WORDS:
        return question.text
    if is_question(previous.text) or question.start - previous.end >= CONTEXT_GAP_S:
        return question.text
    return f"{previous.text} {question.text}"


def wait_time_after(question: Sentence, words: Sequence[Word]) -> float | None:
    """Seconds from the question's end to the next spoken word; 0.0 if it overlaps, None if none follows."""
    return _wait_time(question.end, _word_after(question, words, [word.start for word in words]))


def _wait_time(end: float, following: Word | None) -> float | None:
    return None if following is None else round(max(0.0, following.start - end), 2)


def _word_after(question: Sentence, words: Sequence[Word], starts: list[float]) -> Word | None:
    """The word after the question's last word in the transcript's order (not by time: it may overlap).

    ``words`` is sorted by start (as ``assemble_words`` returns it), so the last word is found by bisection.
    """
    if question.words:
        last = question.words[-1]
        i = bisect_left(starts, last.start)
        while i < len(words) and words[i].start == last.start:
            if words[i] == last:
                return words[i + 1] if i + 1 < len(words) else None
            i += 1
    i = bisect_left(starts, question.end)  # a sentence without its words: the first word after its end
    return words[i] if i < len(words) else None
