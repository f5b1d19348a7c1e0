"""vip_rules: what earns temporary VIP (a channel-point reward, a subscription of a tier, a gift
of subs, a cheer of bits, KICKs), per platform, each for its own hours; vip_audit.rule_id: the
rule that granted or refused. The guild's reward settings become its first rules: the Twitch
reward (``vip_settings.reward_id``) and the Kick reward (``kick_reward_title`` with a role), each
for the guild's ``duration_hours``.

Revision ID: 0040
Revises: 0039
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    rules = op.create_table(
        "vip_rules",
        sa.Column("id", ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reward_id", sa.String(length=64), nullable=True),
        sa.Column("reward_title", sa.String(length=200), nullable=True),
        sa.Column("reward_cost", sa.Integer(), nullable=True),
        sa.Column("at_least", sa.Integer(), nullable=True),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vip_rules")),
    )
    op.create_index(
        op.f("ix_vip_rules_guild_id_platform_kind"), "vip_rules", ["guild_id", "platform", "kind"]
    )
    with op.batch_alter_table("vip_audit") as batch:
        batch.add_column(sa.Column("rule_id", ID, nullable=True))
    settings = sa.table(
        "vip_settings",
        sa.column("guild_id", sa.BigInteger()),
        sa.column("reward_id", sa.String()),
        sa.column("reward_title", sa.String()),
        sa.column("reward_cost", sa.Integer()),
        sa.column("duration_hours", sa.Integer()),
        sa.column("kick_reward_title", sa.String()),
        sa.column("kick_role_id", sa.BigInteger()),
    )
    now = datetime.now(UTC)
    conn = op.get_bind()
    migrated = []
    for row in conn.execute(sa.select(settings)):
        reward = {"kind": "reward", "guild_id": row.guild_id, "hours": row.duration_hours}
        if row.reward_id is not None:
            migrated.append(
                {
                    **reward,
                    "platform": "twitch",
                    "reward_id": row.reward_id,
                    "reward_title": row.reward_title,
                    "reward_cost": row.reward_cost,
                    "created_at": now,
                }
            )
        if row.kick_reward_title and row.kick_role_id is not None:
            migrated.append(
                {
                    **reward,
                    "platform": "kick",
                    "reward_id": None,
                    "reward_title": row.kick_reward_title,
                    "reward_cost": None,
                    "created_at": now,
                }
            )
    if migrated:
        op.bulk_insert(rules, migrated)


def downgrade() -> None:
    with op.batch_alter_table("vip_audit") as batch:
        batch.drop_column("rule_id")
    op.drop_index(op.f("ix_vip_rules_guild_id_platform_kind"), table_name="vip_rules")
    op.drop_table("vip_rules")
