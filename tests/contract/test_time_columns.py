"""Every timestamp column of every service is guanjia.db.UtcDateTime: SQLite (embedded mode) keeps no offset."""

import pytest
from sqlalchemy import DateTime

from guanjia.db import UtcDateTime
from guanjia.service import load_specs

SPECS = load_specs()


@pytest.mark.parametrize("service", sorted(SPECS))
def test_every_time_column_stores_utc(service):
    plain = [
        f"{table.name}.{column.name}"
        for table in SPECS[service].metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime) and not isinstance(column.type, UtcDateTime)
    ]
    assert plain == [], f"{service}: use guanjia.db.UtcDateTime for {plain}"
    assert any(
        isinstance(column.type, UtcDateTime)
        for table in SPECS[service].metadata.tables.values()
        for column in table.columns
    )
