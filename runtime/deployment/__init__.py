"""The deployment itself: what it needs (doctor), readiness, metrics, servers."""
