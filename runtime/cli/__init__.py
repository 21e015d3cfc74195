"""The `rapport` command and the composition of its roles."""
