"""Webhooks: endpoints, the events they receive, and delivering them."""
