"""Analysis of an interview's sessions: summaries, quality, themes, graph, saturation, findings."""
