"""Captions: cues split, timed and escaped, read back by ffmpeg's WebVTT and SubRip readers."""

from __future__ import annotations

import itertools
import json
import tempfile

from runtime.transcripts.captions import MAX_CUE_CHARS, Cue, spread, srt, webvtt
from runtime.voice import decoding


async def read_back(text: str, suffix: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of each cue, as ffprobe reads the file."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as file:
        file.write(text.encode())
        file.flush()
        code, out, err = await decoding.run(
            ["ffprobe", "-v", "error", "-of", "json", "-show_packets", "-show_data",
             "-show_entries", "packet=pts_time,duration_time,data", file.name],
            b"",
        )  # fmt: skip
    assert code == 0, err
    cues = []
    for packet in json.loads(out)["packets"]:
        start = round(float(packet["pts_time"]) * 1000)
        # ffprobe's hex dump: the text is the last column of each line.
        data = "".join(line[51:] for line in packet.get("data", "").splitlines())
        cues.append((start, start + round(float(packet["duration_time"]) * 1000), data))
    return cues


def test_a_long_text_is_cut_at_words_sharing_its_span_by_length() -> None:
    words = ("lorem ipsum dolor sit amet " * 8).strip()
    cues = spread(10_000, 30_000, "Interviewer", f"  {words}\n")
    assert len(cues) == 3 and all(len(cue.text) <= MAX_CUE_CHARS for cue in cues)
    assert " ".join(cue.text for cue in cues) == words
    assert cues[0].start_ms == 10_000 and cues[-1].end_ms == 30_000
    for before, after in itertools.pairwise(cues):
        assert before.end_ms == after.start_ms
    longest = max(cues, key=lambda cue: len(cue.text))
    share = (longest.end_ms - longest.start_ms) / 20_000
    assert abs(share - len(longest.text) / sum(len(cue.text) for cue in cues)) < 0.01
    assert spread(0, 1000, "Respondent", "  ") == []


async def test_both_formats_read_back_with_their_times_and_markup_escaped() -> None:
    cues = [
        Cue(1_500, 2_250, "Respondent", "I'd say <b>5 & up</b> --> more"),
        Cue(3_723_004, 3_725_000, "Interviewer", "Thanks."),
    ]
    vtt = webvtt(cues)
    assert vtt.startswith("WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.250\n<v Respondent>")
    assert "&lt;b&gt;5 &amp; up&lt;/b&gt; --&gt; more" in vtt
    assert "01:02:03.004 --> 01:02:05.000" in vtt
    subrip = srt(cues)
    assert subrip.startswith("1\n00:00:01,500 --> 00:00:02,250\nRespondent: I'd say")
    times = [(1_500, 2_250), (3_723_004, 3_725_000)]
    assert [(start, end) for start, end, _ in await read_back(vtt, ".vtt")] == times
    assert [(start, end) for start, end, _ in await read_back(subrip, ".srt")] == times
