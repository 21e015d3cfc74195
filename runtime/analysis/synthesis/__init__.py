"""Cross-session synthesis: the job, its engines' drafts, the verified report and its files."""
