"""Voice mode (issue 12): listening, and speech in and out behind one interface each."""
