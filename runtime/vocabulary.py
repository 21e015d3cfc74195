"""The words the domain packages share, importing nothing: statuses, roles, moves, modalities."""

from __future__ import annotations

from typing import Literal, get_args

SessionStatus = Literal["in_progress", "completed", "abandoned"]
SESSION_STATUSES: tuple[SessionStatus, ...] = get_args(SessionStatus)
# Who wrote a message, and who speaks next (the interviewer while a turn is owed).
Role = Literal["interviewer", "respondent"]
# Who wrote an interviewer turn: the AI, or a researcher who took the session over.
Author = Literal["ai", "researcher"]
ROLES: tuple[Role, ...] = get_args(Role)
# What an interviewer's turn does: opens the interview, asks an item, probes an answer, asks
# again for a valid choice or number, or closes.
Move = Literal["open", "ask", "probe", "reask", "close"]
MOVES: tuple[Move, ...] = get_args(Move)
# What a respondent message answered: the item's question (asked or revisited), a probe of
# it, or a re-ask for a valid choice or number.
AnswerKind = Literal["question", "probe", "reask"]
ANSWER_KINDS: tuple[AnswerKind, ...] = get_args(AnswerKind)
# A choice or rating answer's value: one of the item's options or a number on its scale
# (resolved), none yet (invalid: it is asked again), or none after the re-asks (unresolved).
ValueStatus = Literal["resolved", "invalid", "unresolved"]
VALUE_STATUSES: tuple[ValueStatus, ...] = get_args(ValueStatus)
# Who read the value from the answer: the runtime's own matching, or the model.
ResolvedBy = Literal["rule", "model"]
# Where a session stands on one guide item (see docs/coverage.md).
CoverageStatus = Literal["not_started", "asked", "answered", "probed", "skipped", "unresolved"]
COVERAGE_STATUSES: tuple[CoverageStatus, ...] = get_args(CoverageStatus)
# How a message was said, and how a respondent may take part (an interview's `modes`):
# typed, or spoken (voice mode keeps the audio beside the text).
Modality = Literal["voice", "text"]
MODALITIES: tuple[Modality, ...] = get_args(Modality)
