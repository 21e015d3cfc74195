"""One interviewer turn spoken: its text synthesized sentence by sentence as it streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from runtime.voice.sentences import SentenceSplitter
from runtime.voice.tts import TextToSpeech
from runtime.voice.types import SAMPLE_WIDTH, Pcm

# Audio goes to the listener in pieces of at most this long: small enough that a flush on
# barge-in drops little that was already queued, large enough to keep frames few.
PIECE_MS = 100


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    start: int  # byte offsets of its audio in the turn's PCM
    end: int


@dataclass
class Timings:
    """perf_counter() marks of the first sentence's way to the listener (bench.voice)."""

    first_sentence: float | None = None  # the first sentence was complete
    tts_request: float | None = None  # the synthesizer was asked for it
    tts_first_byte: float | None = None  # its first audio came back
    first_sent: float | None = None  # that audio was handed to the transport


@dataclass
class SpokenTurn:
    """Fed the turn's text as it streams (`feed`, then `finish`); `run` speaks it, handing
    audio to `send` as it is made. Keeps the whole PCM and where each sentence lies in it,
    so what the respondent heard before a barge-in is known (`heard`)."""

    turn_id: str
    tts: TextToSpeech
    send: Callable[[bytes], Awaitable[None]]
    voice: str | None = None
    rate: float = 1.0
    kind: str = "turn"
    pcm: bytearray = field(default_factory=bytearray)
    sentences: list[SpokenSentence] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    text: str = ""  # everything fed so far

    def __post_init__(self) -> None:
        self._splitter = SentenceSplitter()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._finished = False

    @property
    def sample_rate(self) -> int:
        return self.tts.sample_rate

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // (self.sample_rate * SAMPLE_WIDTH)

    def feed(self, text: str) -> None:
        if self._finished:
            return
        self.text += text
        for sentence in self._splitter.feed(text):
            self._put(sentence)

    def finish(self, content: str | None = None) -> None:
        """The turn is written; `content`, its stored text, replaces what was fed when they
        differ (a stream that missed deltas)."""
        if self._finished:
            return
        if content is not None and content != self.text:
            if content.startswith(self.text):
                self.feed(content[len(self.text) :])
            else:
                self.text = content  # what is already spoken stays; the rest is re-cut
        rest = self._splitter.finish()
        if rest:
            self._put(rest)
        self._finished = True
        self._queue.put_nowait(None)

    def _put(self, sentence: str) -> None:
        if self.timings.first_sentence is None:
            self.timings.first_sentence = time.perf_counter()
        self._queue.put_nowait(sentence)

    async def run(self) -> None:
        """Speak every sentence in order until finish(); raises SpeechError."""
        piece = max(SAMPLE_WIDTH, self.sample_rate * SAMPLE_WIDTH * PIECE_MS // 1000)
        while (sentence := await self._queue.get()) is not None:
            start = len(self.pcm)
            if self.timings.tts_request is None:
                self.timings.tts_request = time.perf_counter()
            async for chunk in self.tts.stream(sentence, self.voice, self.rate):
                if self.timings.tts_first_byte is None:
                    self.timings.tts_first_byte = time.perf_counter()
                self.pcm.extend(chunk)
                for at in range(0, len(chunk), piece):
                    await self.send(chunk[at : at + piece])
                    if self.timings.first_sent is None:
                        self.timings.first_sent = time.perf_counter()
            self.sentences.append(SpokenSentence(sentence, start, len(self.pcm)))

    def heard(self, played_ms: int) -> str:
        """The text whose audio played in the first `played_ms`: whole sentences, and of the
        one cut off, its words in proportion to how much of it played."""
        played = played_ms * self.sample_rate * SAMPLE_WIDTH // 1000
        words: list[str] = []
        for sentence in self.sentences:
            if played >= sentence.end:
                words.extend(sentence.text.split())
                continue
            if played > sentence.start:
                share = (played - sentence.start) / max(1, sentence.end - sentence.start)
                spoken = sentence.text.split()
                words.extend(spoken[: int(len(spoken) * share)])
            break
        return " ".join(words)

    def played_pcm(self, played_ms: int) -> Pcm:
        size = played_ms * self.sample_rate * SAMPLE_WIDTH // 1000
        size -= size % SAMPLE_WIDTH
        return Pcm(bytes(self.pcm[:size]), self.sample_rate)
