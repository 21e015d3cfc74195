"""Erasing sessions: on request, by retention, and finishing an erasure a dead process left."""
