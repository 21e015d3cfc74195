"""Voice mode's frames on the session WebSocket, as the document describes them (docs/voice.md)."""

from __future__ import annotations

from api.openapi.schemas import Schema, boolean, enum, integer, obj, string
from runtime.voice.frames import FRAME_BYTES, FRAME_MS
from runtime.voice.types import SAMPLE_RATE

_INPUT = obj(
    {
        "sample_rate": {"const": SAMPLE_RATE},
        "encoding": {"const": "pcm_s16le"},
        "frame_ms": {"const": FRAME_MS},
    },
    "What the client's microphone frames are; each field may be left out (these values)",
    optional=("sample_rate", "encoding", "frame_ms"),
)


def _loose(kind: str, properties: dict[str, Schema], description: str, *required: str) -> Schema:
    """A client frame: the type and the fields it needs."""
    return {
        "type": "object",
        "properties": {"type": {"const": kind}, **properties},
        "required": ["type", *required],
        "description": description,
    }


def client_frames() -> list[Schema]:
    return [
        _loose(
            "voice.start",
            {"input": _INPUT, "talk": enum(("open", "push"))},
            "Start voice (respondent connections; the interview's modes include voice): "
            "the server answers voice.ready, then takes binary frames of exactly "
            f"{FRAME_BYTES} bytes ({FRAME_MS} ms of 16-bit little-endian mono PCM at "
            f"{SAMPLE_RATE} Hz). `talk`: open (the server decides when a turn ends, by "
            "silence and the interview's eagerness) or push (the turn ends on voice.end_turn)",
        ),
        _loose("voice.end_turn", {}, "The respondent is done speaking (released the talk control)"),
        _loose(
            "playback",
            {
                "turn_id": string(),
                "played_ms": integer(minimum=0),
                "ended": boolean(),
            },
            "How much of a turn's audio has played: every ~250 ms while it plays, at once "
            "after a playback.stop (the final count), and with ended true when it has played "
            "to its end",
            "turn_id",
            "played_ms",
        ),
        _loose("voice.stop", {}, "Back to text: the server stops listening and speaking"),
    ]


def server_frames() -> list[Schema]:
    output = obj(
        {
            "sample_rate": integer("The rate of the interviewer's audio frames"),
            "encoding": {"const": "pcm_s16le"},
            "channels": {"const": 1},
        }
    )
    return [
        obj(
            {
                "type": {"const": "voice.ready"},
                "input": _INPUT,
                "output": output,
                "talk": enum(("open", "push")),
                "eagerness": enum(("relaxed", "normal", "brisk")),
                "limits": obj(
                    {
                        "frame_bytes": {"const": FRAME_BYTES},
                        "max_utterance_ms": integer(),
                        "max_ahead_ms": integer(
                            "How far frames may run ahead of real time before they are refused"
                        ),
                    }
                ),
            },
            "Voice started: what the server listens to and what it speaks",
        ),
        obj(
            {
                "type": {"const": "voice.state"},
                "state": enum(("listening", "thinking", "speaking")),
            },
            "The server's side of the conversation changed",
        ),
        obj(
            {"type": enum(("speech.started", "speech.stopped")), "at_ms": integer()},
            "The respondent's speech began or ended (time in the microphone stream)",
        ),
        obj(
            {"type": {"const": "transcript.partial"}, "text": string()},
            "The respondent's turn as recognized so far",
        ),
        obj(
            {"type": {"const": "transcript.final"}, "text": string(), "message_id": string()},
            "The respondent's turn, stored as their voice message",
        ),
        obj(
            {
                "type": {"const": "audio.started"},
                "turn_id": string(),
                "sample_rate": integer(),
                "kind": enum(("turn", "reprompt")),
            },
            "The interviewer's audio for a turn (or a re-prompt after a silence) follows as "
            "binary frames of 16-bit little-endian mono PCM at sample_rate",
        ),
        obj(
            {"type": {"const": "audio.ended"}, "turn_id": string(), "duration_ms": integer()},
            "All of the turn's audio has been sent",
        ),
        obj(
            {
                "type": {"const": "playback.stop"},
                "turn_id": string(),
                "reason": {"const": "barge_in"},
            },
            "The respondent interrupted: flush the queued audio now and answer with playback",
        ),
        obj(
            {
                "type": {"const": "voice.error"},
                "error": obj(
                    {
                        "code": enum(("speech_failed", "speech_unavailable")),
                        "message": string(),
                        "stage": enum(("recognition", "synthesis")),
                    }
                ),
                "fallback": {"const": "text"},
            },
            "Recognition or synthesis failed: the respondent can type; nothing is lost",
        ),
        obj({"type": {"const": "voice.stopped"}}, "voice.stop was done"),
    ]
