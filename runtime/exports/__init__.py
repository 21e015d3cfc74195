"""Bulk exports: their records, the sessions they cover, their formats and upkeep."""
