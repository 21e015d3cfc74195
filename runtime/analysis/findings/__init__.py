"""Findings: what researchers hold true of an interview, with verified quotes as evidence."""
