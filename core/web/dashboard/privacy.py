"""What StreamKeeper stores, by purpose, for /privacy: every table, what it holds about people,
how long, and how to get or delete it, and what anyone can read without logging in (``PUBLIC``).
tests/web/browser/test_public_pages.py checks that every table of the schema is named here, so a
new table cannot slip past this page."""

from __future__ import annotations

from dataclasses import dataclass

ASK = "Ask a server admin or the operator"


@dataclass(frozen=True)
class Stored:
    what: str
    tables: tuple[str, ...]
    kept: str
    get_or_delete: str


STORED: tuple[Stored, ...] = (
    Stored(
        "Discord servers using the bot and the Kick/Twitch channels each follows (server ids, "
        "names, channel names and broadcaster ids), and when the bot was removed from a server",
        ("guilds", "guild_channels"),
        "while the server uses the bot, and after it removes the bot (so that inviting it again "
        "resumes) until the operator deletes it",
        "A server admin removes the channel; or asks the operator to remove the server's data "
        "(removing the bot stops its use, and keeps it).",
    ),
    Stored(
        "Viewers seen in chat or in events: platform, user id and username",
        ("viewers",),
        "as long as the server keeps watchtime, tickets or links for them",
        f"{ASK}; !unlink removes your link.",
    ),
    Stored(
        "Links between your Discord account and your Kick or Twitch account, and their history "
        "(who, when, linked or unlinked)",
        ("account_links", "link_history", "link_panels", "link_settings"),
        "until you unlink (the history line stays as the server's audit log)",
        "!unlink in Discord removes the link; the link log stays with the server.",
    ),
    Stored(
        "Streamer connections: encrypted Kick/Twitch tokens of the streamer who connected a "
        "channel, the event subscriptions made with them, and sign-in states",
        (
            "kick_connections",
            "kick_subscriptions",
            "twitch_connections",
            "twitch_subscriptions",
            "twitch_revocations",
            "oauth_states",
            "used_links",
        ),
        "tokens until disconnected; sign-in states and used links until they expire (minutes "
        "to an hour)",
        "A streamer disconnects Twitch with !twitch disconnect; for Kick, ask the operator "
        "(or revoke the app in Kick's settings).",
    ),
    Stored(
        "Watchtime: minutes watched per viewer and stream, who was present, stream sessions",
        ("watchtime", "watch_presence", "watch_streams", "watch_settings"),
        "as long as the server keeps its watchtime",
        f"!watchtime shows yours; {ASK} to reset it.",
    ),
    Stored(
        "Watchtime hour by hour for the dashboard's charts: how many viewers were present and "
        "the time they watched in all (no names)",
        ("watch_hours",),
        "92 days",
        "Nothing to ask: it names nobody, and is forgotten as it ages.",
    ),
    Stored(
        "Roles earned by watchtime and the tiers that grant them",
        ("role_awards", "role_tiers", "role_settings"),
        "while the tier exists",
        f"{ASK}.",
    ),
    Stored(
        "Raffle: ticket ledger (who got or lost tickets, why, and which admin gave them), "
        "balances, exclusions, periods, draws, winners and their proofs",
        (
            "raffle_ledger",
            "raffle_balances",
            "raffle_exclusions",
            "raffle_gifts",
            "raffle_watch_progress",
            "raffle_periods",
            "raffle_draws",
            "raffle_winners",
            "raffle_settings",
            "raffle_frozen_ranges",
        ),
        "kept: a closed period's ledger is the evidence its draw was fair, and is published "
        "with its proof",
        "!tickets shows yours. A closed period's ledger cannot be edited "
        "without breaking its proof.",
    ),
    Stored(
        "Shuffle wagers: your Shuffle username link and wager totals per period",
        (
            "shuffle_links",
            "shuffle_link_requests",
            "shuffle_settings",
            "shuffle_wager_periods",
            "shuffle_wager_progress",
            "shuffle_wager_totals",
        ),
        "as long as the server runs wager tickets",
        f"{ASK} to remove your Shuffle link.",
    ),
    Stored(
        "Slot calls: the calls you made, the queue and the blacklist",
        ("slot_calls", "slot_call_blacklist", "slot_call_settings"),
        "a call until 30 days after it is picked, cleared or skipped; the blacklist until an "
        "admin removes you",
        f"{ASK}.",
    ),
    Stored(
        "Points: the ledger of points earned, spent and given (by whom and why), balances, "
        "earnings not yet posted, stakes held on StreamElements points, and each server's rates",
        (
            "points_ledger",
            "points_balances",
            "points_accrual",
            "points_se_holds",
            "points_settings",
        ),
        "as long as the server keeps its points; a stake held on StreamElements points until "
        "30 days after its game ended",
        f"!points shows yours, and /me while logged in; {ASK} to reset them.",
    ),
    Stored(
        "Heists: who joined, their stake, risk, subscription tier, result and payout",
        ("heists", "heist_participants", "heist_settings"),
        "as long as the server keeps its points",
        f"{ASK}.",
    ),
    Stored(
        "Subscription tiers seen for viewers (which tier, from which source, until when, when "
        "Twitch said it ended)",
        ("sub_tiers",),
        "until 7 days after the subscription expires",
        "Nothing to ask: they follow the platform's subscription and expire with it.",
    ),
    Stored(
        "Temporary VIP: the server's rules (what earns VIP and for how long), redemptions, "
        "grants with their expiry, the audit log, and the rewards a Twitch disconnect paused "
        "(until the streamer connects again)",
        (
            "vip_rules",
            "vip_redemptions",
            "vip_grants",
            "vip_audit",
            "vip_settings",
            "vip_paused_rewards",
        ),
        "grants (with their end) and the audit log stay with the server",
        f"{ASK}.",
    ),
    Stored(
        "On-stream overlays: each overlay's secret link (kept hashed for lookup and encrypted "
        "so admins can copy it again), the server's overlay settings, its alerts' words, "
        "pictures and sounds as the streamer uploaded them, its goal bar and what moved it, "
        "and recent alerts (a follow, a sub, a gift, a raid, a cheer or KICKs with the viewer's "
        "name and account, and a cheer's or KICKs' message; a viewer made VIP, a ticket "
        "milestone)",
        (
            "overlay_tokens",
            "overlay_settings",
            "overlay_alerts",
            "overlay_alert_counters",
            "overlay_alert_styles",
            "overlay_alert_variations",
            "overlay_media",
            "overlay_goals",
            "overlay_goal_moves",
        ),
        "links and settings while the server uses the bot; alerts are shown once and kept with "
        "the server's other data, until the viewer they name asks to be forgotten; what moved "
        "the goal bar, 30 days (the bar keeps its count)",
        f"{ASK}: forgetting you deletes the alerts that name you (a follow, sub, raid, cheer or "
        "gift alert recorded before StreamKeeper kept the account with it names you only in its "
        "words, and stays); an admin makes a new overlay link with Rotate on the dashboard's "
        "Overlays page.",
    ),
    Stored(
        "What was imported from the bot a server used before (python -m core import): when "
        "each import ran and what it counted, which rows of the other bot were taken (so a "
        "second run adds nothing), and the winners of its closed raffles by name",
        ("import_runs", "import_markers", "imported_winners"),
        "with the server's other data; once you are forgotten, the key of each of your rows "
        "there (your Kick name, or an id), for good, so that importing again leaves you out",
        f"{ASK}; imported winners are listed by `python -m core export --what imported-winners`.",
    ),
    Stored(
        "What the bot sees of each Discord server, for the dashboard to show names: the server's "
        "name and icon, its roles and channels, and members' display names and avatars",
        ("directory_guilds", "directory_roles", "directory_channels", "directory_members"),
        "while the bot is in the server; a member's name until they leave it",
        "Leaving the server removes your name; the rest goes when the bot leaves.",
    ),
    Stored(
        "Calls the bot makes to Twitch and other services on a server's behalf (such as adding "
        "a VIP for a redemption, with the viewer's name, a line said in the stream's chat, or a "
        "heist payout on StreamElements points), what each does in words (shown to the "
        "server's admins when it did not happen) and what came of it",
        ("outbox",),
        "30 days after the call ended; a payment whose fate is unknown until an admin settles it",
        f"{ASK}: your copy lists the calls that name you, and forgetting you deletes those "
        "that ended; one still to be made (a payment owed to you, your roles taken back) or a "
        "payment in doubt goes once it is made or settled.",
    ),
    Stored(
        "Payments in doubt an admin settled: which payment, whether it was marked paid or sent "
        "again, the admin's Discord id, their reason and when",
        ("payments_settlements",),
        "with the server's other data",
        f"{ASK}.",
    ),
    Stored(
        "Events received from Kick and Twitch (webhook ids, event payloads such as chat "
        "messages, follows, subscriptions) while they are processed",
        (
            "bus_events",
            "processed_events",
            "webhook_receipts",
            "webhook_arrivals",
            "event_arrivals",
        ),
        "webhook receipts for a day; delivered events in the database's queue for 7 days; "
        "events whose handling failed (set aside for an admin to retry, in the database or in "
        "Redis) for 30 days; the ids of handled events (so nothing counts twice) and, per "
        "channel and event type, when a webhook and an event last arrived, until the data of "
        "the last server that follows the channel is deleted",
        "Nothing to ask: they are working data, pruned as they age. Forgetting you deletes "
        "your events not yet handled or set aside in the database's queue.",
    ),
    Stored(
        "Chat commands the bot took and has not finished yet: the chat message (who typed it "
        "and what), the command and the process running it, so a bot restarted after a crash "
        "still answers them",
        ("chat_commands_pending",),
        "until the command has run; at most 10 minutes",
        "Nothing to ask: they are working data, deleted as the commands end.",
    ),
    Stored(
        "Kick's public key that checks its webhooks' signatures, as the bot last fetched it "
        "from Kick, and when; nothing about people",
        ("kick_public_keys",),
        "for as long as the bot runs; replaced when Kick changes its key",
        "Nothing to ask: it is Kick's published key.",
    ),
    Stored(
        "Which bot process runs which part of the work (groups of servers, timed jobs), with "
        "the process's host name and process id; nothing about people",
        ("leases",),
        "until another process takes them over; a stopped process's own entry an hour later",
        "Nothing to ask: they are working data about the bot's own processes.",
    ),
    Stored(
        "A deletion the operator made at your request that had to keep a few rows for now (a "
        "seat in a heist under way, a VIP grant still running, a payment owed to you): your "
        "Discord id, the ids of your Kick and Twitch accounts and of the bot's calls kept, no "
        "names, so those rows are found and deleted once what kept them ends",
        ("privacy_forgets_to_finish",),
        "until the last of those rows is deleted (the bot checks every hour)",
        "Nothing to ask: the deletion you asked for finishes by itself.",
    ),
    Stored(
        "Dashboard sign-ins: for each browser logged in, a hash of its session id, your Discord "
        "id and when the session ends",
        ("web_sessions",),
        "until you log out or the session expires (a few hours)",
        "Log out: the session ends on the server, so even a copy of the cookie stops working.",
    ),
    Stored(
        "Live-update counters: per server and dashboard topic (events, raffle, VIP), a number "
        "that goes up when something changes, so open pages refresh; nothing about people",
        ("live_changes",),
        "while the server uses the bot",
        "Nothing to ask: it holds no personal data.",
    ),
)


@dataclass(frozen=True)
class Published:
    where: str
    what: str


# What anyone can read without logging in. A closed raffle period's ledger is the evidence its
# draw was fair: its snapshot hash (published when the period closed) covers every field of
# every row, so the public ledger cannot leave one out and still verify.
PUBLIC: tuple[Published, ...] = (
    Published(
        "/raffle/<period> and its proof.json",
        "a closed raffle period's commitment and seed, snapshot hash, randomness round, and each "
        "draw: prize, winners (platform, user id, username, ticket), a reroll's reason and, for "
        "a draw forced without the beacon, the admin who forced it (as in the ledger); with the "
        "Discord server's id. Period numbers are counted across every server of this instance, "
        "so anyone can go through every server's closed raffles by number",
    ),
    Published(
        "/raffle/<period>/ledger.json",
        "every ticket row of that period: its row number, the viewer's platform and user id, "
        "tickets, where they came from (watchtime, a gift, a wager, an admin) and its reference, "
        "when (a wager's reference and reason name the viewer's Shuffle account and the dollars "
        "wagered on it in the period), and for tickets an admin gave or took by hand, that "
        "admin's pseudonym for the period (admin- and 16 hex digits: the same admin has another "
        "one in every period, and only the operator can map it back to a Discord id; periods "
        "closed before pseudonyms show the Discord id itself) and the reason they typed. The "
        "snapshot hash covers all of these, so none can be left out; "
        "write nothing in a reason you would not show viewers. Row numbers are counted across "
        "every server of this instance, so they show roughly how many rows were written "
        "elsewhere in between",
    ),
    Published(
        "/health",
        "whether the service is up, and the webhook addresses it takes; no data about people",
    ),
    Published(
        "/metrics (unless the operator sets METRICS_TOKEN)",
        "counts of webhooks and events by kind, and timings; no data about people",
    ),
)
