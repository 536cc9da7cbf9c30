"""The Alembic migrations produce exactly the tables the models describe, on both back ends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from simrelay.storage.all_models import Base
from tests.conftest import Backend

pytestmark = pytest.mark.integration


async def test_migrated_schema_matches_the_models(backend: Backend, engine) -> None:
    def compare(conn: sa.Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(compare)
    # The search index (FTS5 table, trigram GIN index) is made by hand and lives outside the models.
    assert [d for d in differences if "search" not in str(d) and "fts" not in str(d)] == []
