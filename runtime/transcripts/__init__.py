"""A session's transcript and files: text, Markdown, audio and PDF."""
