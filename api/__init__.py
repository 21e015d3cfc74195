"""Rapport's HTTP face: parse, call the runtime, encode."""
