"""search queue on SQLite: new messages reach the FTS5 index in batches, off the send path

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Indexing each message inside its send transaction made every commit write a new FTS5
# segment, the largest fixed cost of a small send batch. Now an insert only queues the row;
# sms/repository.py `index_queued_messages` indexes the queue in batches, and searches also
# look at the rows still queued.
QUEUE_TRIGGERS = [
    "CREATE TRIGGER messages_search_queue AFTER INSERT ON messages BEGIN "
    "INSERT OR REPLACE INTO search_queue (message_rowid) VALUES (new.rowid); END",
    # An indexed row leaves the index; a queued one just leaves the queue (deleting a row
    # FTS5 never saw would corrupt it).
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, search_text) "
    "SELECT 'delete', old.rowid, old.search_text "
    "WHERE NOT EXISTS (SELECT 1 FROM search_queue WHERE message_rowid = old.rowid); "
    "DELETE FROM search_queue WHERE message_rowid = old.rowid; END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, search_text) "
    "SELECT 'delete', old.rowid, old.search_text "
    "WHERE NOT EXISTS (SELECT 1 FROM search_queue WHERE message_rowid = old.rowid); "
    "INSERT OR REPLACE INTO search_queue (message_rowid) VALUES (new.rowid); END",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
    op.execute("CREATE TABLE search_queue (message_rowid INTEGER PRIMARY KEY)")
    for statement in QUEUE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO messages_fts(rowid, search_text) SELECT m.rowid, m.search_text "
        "FROM messages m JOIN search_queue q ON m.rowid = q.message_rowid"
    )
    for trigger in ("messages_search_queue", "messages_fts_delete", "messages_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE search_queue")
    op.execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, search_text) "
        "VALUES ('delete', old.rowid, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, search_text) "
        "VALUES ('delete', old.rowid, old.search_text); "
        "INSERT INTO messages_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END"
    )
