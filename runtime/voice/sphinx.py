"""Local speech to text with pocketsphinx and the US English model its wheel ships."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from runtime.voice import decoding
from runtime.voice.types import SAMPLE_RATE, SAMPLE_WIDTH, Segment, SpeechUnavailable, Transcript

RATE = SAMPLE_RATE
# Fed in 30 ms pieces: decoding the whole utterance at once (`full_utt=True`) gave garbage
# on these voices (docs/voice.md).
CHUNK_BYTES = RATE * SAMPLE_WIDTH * 30 // 1000
LANGUAGE = "en"
INSTALL = "pip install pocketsphinx (its wheel ships the en-us model)"
# A pause at least this long between words starts a new segment (about a sentence's end).
SEGMENT_GAP_MS = 400


class SphinxSpeechToText:
    """Recognizes English; decoders are made on first use (~0.4 s each) and reused, one per
    concurrent utterance, and decode in a thread so the event loop keeps serving."""

    def __init__(self, model_dir: Path | None = None, ffmpeg: str = "ffmpeg") -> None:
        self._model_dir = model_dir
        self._ffmpeg = ffmpeg
        self._idle: list[Any] = []

    async def transcribe(
        self,
        audio: bytes,
        content_type: str,
        language: str | None = None,
        *,
        segments: bool = False,
    ) -> Transcript:
        if language and language.split("-")[0].lower() != LANGUAGE:
            raise SpeechUnavailable(
                f"the local recognizer (pocketsphinx) knows English only, not {language}: "
                "set RAPPORT_STT_ENGINE=openai and an endpoint (docs/voice.md)"
            )
        pcm = await decoding.to_pcm(audio, content_type, RATE, self._ffmpeg)
        # Loading a decoder takes as long as decoding: in the thread too, off the event loop.
        decoder = self._idle.pop() if self._idle else await asyncio.to_thread(self._new)
        text, words = await asyncio.to_thread(_decode, decoder, pcm.data)
        # Not kept after an error: a cancelled caller's thread may still be decoding with it.
        self._idle.append(decoder)
        found = tuple(_segments(words, _frame_ms(decoder))) if segments else ()
        return Transcript(text, LANGUAGE, pcm.duration, found)

    def _new(self) -> Any:
        try:
            import pocketsphinx  # local: only the local engine needs it
        except ImportError as exc:
            raise SpeechUnavailable(f"pocketsphinx is not installed: {INSTALL}") from exc
        if self._model_dir is None:
            return pocketsphinx.Decoder(loglevel="FATAL")
        model = self._model_dir
        parts = {"hmm": model / "en-us", "lm": model / "en-us.lm.bin"}
        parts["dict"] = model / "cmudict-en-us.dict"
        absent = [str(path) for path in parts.values() if not path.exists()]
        if absent:
            raise SpeechUnavailable(
                f"the pocketsphinx model is incomplete, missing {', '.join(absent)}: {INSTALL}"
            )
        return pocketsphinx.Decoder(loglevel="FATAL", **{k: str(v) for k, v in parts.items()})


Word = tuple[str, int, int]  # the word, its first and last frame


def _decode(decoder: Any, data: bytes) -> tuple[str, list[Word]]:
    decoder.start_utt()
    for at in range(0, len(data), CHUNK_BYTES):
        decoder.process_raw(data[at : at + CHUNK_BYTES], False, False)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    if hypothesis is None:
        return "", []
    # Read in the thread too: the segment list belongs to this utterance of this decoder.
    words = [(str(s.word), int(s.start_frame), int(s.end_frame)) for s in decoder.seg()]
    return str(hypothesis.hypstr).strip(), words


def _frame_ms(decoder: Any) -> float:
    return 1000 / int(decoder.config["frate"])


def _segments(words: list[Word], frame_ms: float) -> list[Segment]:
    """The decoder's words (fillers, silences and sentence marks left out; `word(2)`, an
    alternative pronunciation, as `word`) grouped into segments at pauses."""
    out: list[Segment] = []
    run: list[str] = []
    start = end = 0
    for word, first, last in words:
        if word.startswith(("<", "[", "+")):
            continue  # <s>, </s>, <sil>, [NOISE], +UH+: not words
        begins, ends = round(first * frame_ms), round((last + 1) * frame_ms)
        if run and begins - end >= SEGMENT_GAP_MS:
            out.append(Segment(start, end, " ".join(run)))
            run = []
        if not run:
            start = begins
        run.append(word.split("(", 1)[0])
        end = ends
    if run:
        out.append(Segment(start, end, " ".join(run)))
    return out
