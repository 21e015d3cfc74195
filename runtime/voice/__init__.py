"""Voice mode: listening, speech to text, text to speech."""
