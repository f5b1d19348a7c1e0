"""Points: a per-guild economy viewers earn by watching and chatting and spend on games
(the heist first). An append-only ledger with a unique ``(guild, source, source_ref)`` per row
and a balance moved in the same transaction, never below zero."""
