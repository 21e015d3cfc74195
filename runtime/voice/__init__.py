"""Voice mode (issue 12): speech in and out behind one interface each, and listening."""
