"""Interviews: their settings, lifecycle and versioned study guide."""
