"""Sessions in SQL: their messages and the live conversation's durable side."""
