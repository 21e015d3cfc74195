"""What every part of Rapport stands on: errors, settings, time, ids, logs, safe text."""
