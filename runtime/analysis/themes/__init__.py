"""Themes: the offline engine's reading, clustering, labels and sentiment of interview answers."""
