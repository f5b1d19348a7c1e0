"""overlay_alerts gets the viewer it names, ``platform`` and ``platform_user_id`` (both null for
an alert about no viewer), so a person's export finds their alerts and forgetting them deletes
them.

Alerts recorded before are given theirs where the reference says it: a VIP alert
(``vip:<platform>:<user id>:<action>:<what>``) and a ticket milestone
(``tickets:<period>:<platform>:<user id>:<milestone>``). The others (``event:<event key>``, a
subscription's name, a gift's digest, a replay, a test) do not say whose they were, and stay
null.

Revision ID: 0044
Revises: 0043
"""

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

PLATFORMS = ("kick", "twitch")
_BATCH = 1000

_alerts = sa.table(
    "overlay_alerts",
    sa.column("guild_id", sa.BigInteger()),
    sa.column("seq", sa.BigInteger()),
    sa.column("source_ref", sa.String()),
    sa.column("platform", sa.String()),
    sa.column("platform_user_id", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("overlay_alerts") as batch:
        batch.add_column(sa.Column("platform", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("platform_user_id", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    a = _alerts.c
    named = sa.or_(a.source_ref.like("vip:%"), a.source_ref.like("tickets:%"))
    rows = conn.execute(sa.select(a.guild_id, a.seq, a.source_ref).where(named)).all()
    found = []
    for guild_id, seq, source_ref in rows:
        viewer = viewer_of(source_ref)
        if viewer is not None:
            found.append({"g": guild_id, "s": seq, "p": viewer[0], "u": viewer[1]})
    update = (
        sa.update(_alerts)
        .where(a.guild_id == sa.bindparam("g"), a.seq == sa.bindparam("s"))
        .values(platform=sa.bindparam("p"), platform_user_id=sa.bindparam("u"))
    )
    for start in range(0, len(found), _BATCH):
        conn.execute(update, found[start : start + _BATCH])


def viewer_of(source_ref: str) -> tuple[str, str] | None:
    """The (platform, user id) a VIP or ticket milestone alert's reference names, or None."""
    parts = source_ref.split(":")
    if parts[0] == "vip" and len(parts) >= 5:
        platform, user_id = parts[1], parts[2]
    elif parts[0] == "tickets" and len(parts) == 5:
        platform, user_id = parts[2], parts[3]
    else:
        return None
    if platform not in PLATFORMS or not user_id or len(user_id) > 64:
        return None
    return platform, user_id


def downgrade() -> None:
    with op.batch_alter_table("overlay_alerts") as batch:
        batch.drop_column("platform_user_id")
        batch.drop_column("platform")
