"""Joins a new attempt at a turn onto text an earlier attempt already sent to the respondent."""

from __future__ import annotations


def bridge(rephrase: str) -> str:
    """What goes between the words already said and a retry that departs from them."""
    return f" … {rephrase} "


class Splice:
    """Feed it the new attempt's text piece by piece; it returns only what is new to send.

    While the attempt repeats what was said, nothing is sent; once it goes beyond, the rest
    is sent; if it departs from what was said, a bridge and the whole attempt follow: the
    sent text stays (it cannot be unsaid) and the new attempt follows it, once, after
    `rephrase` (languages.phrases: "sorry, let me put that another way.")."""

    def __init__(self, said: str, rephrase: str) -> None:
        self.said = said
        self.bridge = bridge(rephrase)
        self._received = ""
        self._diverged = not said
        self._sent = ""

    @property
    def text(self) -> str:
        """Everything the respondent has been sent for this turn, earlier attempts included."""
        return self.said + self._sent

    def feed(self, piece: str) -> str:
        if not piece:
            return ""
        if self._diverged:
            return self._send(piece)
        self._received += piece
        received, said = self._received, self.said
        if len(received) <= len(said):
            if said.startswith(received):
                return ""
            return self._diverge()
        if received.startswith(said):
            return self._send(received[len(said) + len(self._sent) :])
        return self._diverge()

    def finish(self) -> str:
        """The attempt ended: if it only repeated part of what was said, it cannot end there."""
        if not self._diverged and self._received and len(self._received) < len(self.said):
            return self._diverge()
        return ""

    def _diverge(self) -> str:
        self._diverged = True
        spaced = self.said[-1:].isspace()
        if self.said.rstrip().endswith((".", "?", "!", ":")):
            joint = "" if spaced else " "
        else:
            joint = self.bridge.lstrip() if spaced else self.bridge
        return self._send(joint + self._received.lstrip())

    def _send(self, text: str) -> str:
        self._sent += text
        return text
