"""Which stored viewers are chat bots (:class:`~core.features.chat_bots.ChatBots`), so that the
boards leave them off: a bot earns nothing now, but watchtime or points it earned before bots
were told apart, before its login was named in ``CHAT_BOTS``, or that an import brought, stay
in its rows."""

from __future__ import annotations

import sqlalchemy as sa

from core.events import Platform
from core.features.chat_bots import ChatBots
from core.features.viewers.tables import viewers


def not_a_bot(table: sa.FromClause, bots: ChatBots | None) -> sa.ColumnElement[bool]:
    """``table``'s rows (with ``platform`` and ``platform_user_id``) of no viewer going by a
    bot's login now (any case) and of none of StreamKeeper's own accounts. A condition of the
    caller's statement, not a statement of its own: a board's page stays two statements."""
    if bots is None:
        return sa.true()
    account = sa.tuple_(table.c.platform, table.c.platform_user_id)
    named = [
        sa.and_(viewers.c.platform == str(platform), sa.func.lower(viewers.c.username).in_(logins))
        for platform in Platform
        if (logins := sorted(bots.logins(platform)))
    ]
    conditions = []
    if named:
        by_name = sa.select(viewers.c.platform, viewers.c.platform_user_id).where(sa.or_(*named))
        conditions.append(~account.in_(by_name))
    if own := sorted((str(platform), user_id) for platform, user_id in bots.own_accounts()):
        conditions.append(~account.in_(own))
    return sa.and_(sa.true(), *conditions)
