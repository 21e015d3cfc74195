"""Who may do what, how often: API keys and scopes, rate limits, idempotency."""
