"""watchtime tick: HOT updates of the totals, presence keyed by viewer first

A tick adds seconds to every present viewer's row. With ``seconds`` in an index, PostgreSQL
has to add index entries for every new row version; without it, and with free space kept on
each page (``fillfactor``), the new versions stay on their page (heap-only tuple updates), and a
tick costs about half as much. Leaderboards then sort the guild's rows instead of reading an
index, which is cheap at the sizes a guild has. ``fillfactor`` applies to pages written from
now on; existing pages gain the free space as the rows move.

``watch_presence``'s key becomes (guild, platform, viewer, broadcaster): the tick matches
presence to totals by viewer, and with the viewer third in the key any join order the planner
picks looks a viewer up in the index instead of scanning the guild's presence for each one.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Half of each page free: room for a new version of every row on it, so that a whole tick's
# updates can stay on their pages while the previous tick's versions wait to be pruned.
FILLFACTOR = 50


PRESENCE_KEY = ["guild_id", "platform", "platform_user_id", "broadcaster_user_id"]
FORMER_PRESENCE_KEY = ["guild_id", "platform", "broadcaster_user_id", "platform_user_id"]


def upgrade() -> None:
    op.drop_index(op.f("ix_watchtime_guild_id_seconds"), table_name="watchtime")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE watchtime SET (fillfactor = {FILLFACTOR})")
    _key_presence_by(PRESENCE_KEY)


def downgrade() -> None:
    _key_presence_by(FORMER_PRESENCE_KEY)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE watchtime RESET (fillfactor)")
    op.create_index(
        op.f("ix_watchtime_guild_id_seconds"), "watchtime", ["guild_id", "seconds"], unique=False
    )


def _key_presence_by(columns: list[str]) -> None:
    # SQLite cannot alter a primary key: batch mode rebuilds the table (presence is small).
    with op.batch_alter_table("watch_presence") as batch:
        batch.drop_constraint(op.f("pk_watch_presence"), type_="primary")
        batch.create_primary_key(op.f("pk_watch_presence"), columns)
