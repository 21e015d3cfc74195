"""One session read on its own: an extractive summary and deterministic quality metrics."""
