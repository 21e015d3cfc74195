"""A session as it happens: events, their log and hub, tickets, conversation and turns."""
