"""Rapport's background processes."""
