"""Coverage: where each session, and each interview, stands on every guide item."""
