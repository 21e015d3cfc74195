"""The sizes a finding may have (docs/synthesis.md, "Findings"): enforced by the API and here."""

from __future__ import annotations

TITLE_MAX = 300
DESCRIPTION_MAX = 5000
TAGS_MAX = 20
TAG_MAX = 50
# Evidence quotes one request may give a finding (a create, a PATCH, one bulk item).
EVIDENCE_MAX = 50
# Evidence quotes a finding may hold in all, merges included: past it, merged quotes are dropped
# and counted, so a finding upserted by every synthesis run stays a readable size.
FINDING_EVIDENCE_MAX = 500
QUOTE_MAX = 2000
# Findings one POST …/findings/bulk may upsert.
BULK_MAX = 100
# A prevalence counts participants: no interview has more sessions than this.
PREVALENCE_MAX = 1_000_000
