"""coverage.csv in an export's ZIP: a row per session and guide item, its status and value."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from runtime.exports.source import Source
from runtime.transcripts import neutralize

NAME = "coverage.csv"
COLUMNS = ("session_id", "item_id", "status", "value")


async def coverage_chunks(source: Source) -> AsyncIterator[bytes]:
    """A page of sessions at a time, quoted and defused like transcripts.csv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()  # spreadsheet programs read the UTF-8 as UTF-8
    writer.writerow(COLUMNS)
    async for page in source.pages():
        for entry in page:
            for item in entry.coverage().items:
                value = "" if item.value is None else item.value
                row = (entry.id, item.item_id, item.status, value)
                writer.writerow([neutralize.csv_cell(cell) for cell in row])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
