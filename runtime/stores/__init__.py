"""Where data lives: SQL, Redis, the job queue and the blob store, and their failures."""
