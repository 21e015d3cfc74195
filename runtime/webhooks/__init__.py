"""Webhooks: endpoints, the outbox of deliveries their events queue, the address guard, delivery."""
