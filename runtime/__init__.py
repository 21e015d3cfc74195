"""Rapport's domain: interviews, guides, sessions, turns, and the stores behind them."""
