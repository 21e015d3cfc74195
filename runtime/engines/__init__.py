"""Interviewer engines: from a session's state and the respondent's input, the next turn."""
