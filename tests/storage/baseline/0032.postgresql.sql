-- The schema at migration 0032, the baseline, as postgresql builds it: what a database
-- created before the squash holds. tests/storage/test_db.py loads it, marks it 0032 and
-- migrates it to the newest revision, which must then match the declared tables.
-- Frozen: never regenerate it from the tables.

CREATE TABLE bus_events (
	id BIGSERIAL NOT NULL,
	event_key VARCHAR(255) NOT NULL,
	payload TEXT NOT NULL,
	published_at TIMESTAMP WITH TIME ZONE NOT NULL,
	attempts INTEGER DEFAULT '0' NOT NULL,
	next_attempt_at TIMESTAMP WITH TIME ZONE,
	acked_at TIMESTAMP WITH TIME ZONE,
	dead_at TIMESTAMP WITH TIME ZONE,
	last_error TEXT,
	CONSTRAINT pk_bus_events PRIMARY KEY (id),
	CONSTRAINT uq_bus_events_event_key UNIQUE (event_key)
);

CREATE INDEX ix_bus_events_acked_at_dead_at_id ON bus_events (acked_at, dead_at, id);

CREATE TABLE processed_events (
	guild_id BIGINT NOT NULL,
	consumer VARCHAR(64) NOT NULL,
	event_key VARCHAR(255) NOT NULL,
	processed_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_processed_events PRIMARY KEY (guild_id, consumer, event_key)
);

CREATE INDEX ix_processed_events_processed_at ON processed_events (processed_at);

CREATE TABLE outbox (
	id BIGSERIAL NOT NULL,
	service VARCHAR(32) NOT NULL,
	kind VARCHAR(64) NOT NULL,
	guild_id BIGINT NOT NULL,
	effect_key VARCHAR(255) NOT NULL,
	payload TEXT NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER DEFAULT '0' NOT NULL,
	next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL,
	claimed_by VARCHAR(64),
	claimed_until TIMESTAMP WITH TIME ZONE,
	result TEXT,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_outbox PRIMARY KEY (id),
	CONSTRAINT uq_outbox_effect_key UNIQUE (effect_key)
);

CREATE INDEX ix_outbox_guild_id_created_at ON outbox (guild_id, created_at);

CREATE INDEX ix_outbox_service_state_next_attempt_at ON outbox (service, state, next_attempt_at);

CREATE TABLE leases (
	name VARCHAR(128) NOT NULL,
	holder VARCHAR(64) NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_leases PRIMARY KEY (name)
);

CREATE TABLE webhook_receipts (
	message_id VARCHAR(128) NOT NULL,
	received_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_webhook_receipts PRIMARY KEY (message_id)
);

CREATE INDEX ix_webhook_receipts_received_at ON webhook_receipts (received_at);

CREATE TABLE kick_connections (
	guild_id BIGINT NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	kick_username VARCHAR(100) NOT NULL,
	access_token TEXT NOT NULL,
	refresh_token TEXT,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	scopes TEXT NOT NULL,
	status VARCHAR(16) NOT NULL,
	connected_by BIGINT NOT NULL,
	needs_sync BOOLEAN DEFAULT true NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_kick_connections PRIMARY KEY (guild_id)
);

CREATE TABLE kick_subscriptions (
	subscription_id VARCHAR(64) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	event VARCHAR(64) NOT NULL,
	version INTEGER NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_kick_subscriptions PRIMARY KEY (subscription_id)
);

CREATE INDEX ix_kick_subscriptions_broadcaster_user_id ON kick_subscriptions (broadcaster_user_id);

CREATE TABLE webhook_arrivals (
	broadcaster_user_id VARCHAR(64) NOT NULL,
	event_type VARCHAR(64) NOT NULL,
	arrived_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_webhook_arrivals PRIMARY KEY (broadcaster_user_id, event_type)
);

CREATE TABLE oauth_states (
	state VARCHAR(64) NOT NULL,
	purpose VARCHAR(32) NOT NULL,
	guild_id BIGINT NOT NULL,
	discord_user_id BIGINT NOT NULL,
	code_verifier TEXT NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	used_at TIMESTAMP WITH TIME ZONE,
	browser_hash VARCHAR(64),
	CONSTRAINT pk_oauth_states PRIMARY KEY (state)
);

CREATE INDEX ix_oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE used_links (
	link_id VARCHAR(43) NOT NULL,
	purpose VARCHAR(32) NOT NULL,
	guild_id BIGINT NOT NULL,
	discord_user_id BIGINT NOT NULL,
	used_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_used_links PRIMARY KEY (link_id)
);

CREATE INDEX ix_used_links_expires_at ON used_links (expires_at);

CREATE TABLE twitch_revocations (
	subscription_id VARCHAR(64) NOT NULL,
	subscription_type VARCHAR(100) NOT NULL,
	status VARCHAR(64) NOT NULL,
	broadcaster_user_id VARCHAR(64),
	revoked_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_twitch_revocations PRIMARY KEY (subscription_id)
);

CREATE INDEX ix_twitch_revocations_broadcaster_user_id ON twitch_revocations (broadcaster_user_id);

CREATE TABLE twitch_connections (
	guild_id BIGINT NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	login VARCHAR(100) NOT NULL,
	access_token TEXT NOT NULL,
	refresh_token TEXT,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	scopes TEXT NOT NULL,
	missing_scopes TEXT DEFAULT '' NOT NULL,
	status VARCHAR(16) NOT NULL,
	connected_by BIGINT NOT NULL,
	needs_sync BOOLEAN DEFAULT true NOT NULL,
	validated_at TIMESTAMP WITH TIME ZONE,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_twitch_connections PRIMARY KEY (guild_id)
);

CREATE TABLE twitch_subscriptions (
	subscription_id VARCHAR(64) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	subscription_type VARCHAR(100) NOT NULL,
	status VARCHAR(64) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_twitch_subscriptions PRIMARY KEY (subscription_id)
);

CREATE INDEX ix_twitch_subscriptions_broadcaster_user_id ON twitch_subscriptions (broadcaster_user_id);

CREATE TABLE directory_guilds (
	guild_id BIGINT NOT NULL,
	name VARCHAR(100) NOT NULL,
	icon VARCHAR(64),
	can_manage_roles BOOLEAN,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_directory_guilds PRIMARY KEY (guild_id)
);

CREATE TABLE directory_roles (
	guild_id BIGINT NOT NULL,
	role_id BIGINT NOT NULL,
	name VARCHAR(100) NOT NULL,
	position INTEGER NOT NULL,
	color INTEGER DEFAULT '0' NOT NULL,
	assignable BOOLEAN NOT NULL,
	is_default BOOLEAN DEFAULT false NOT NULL,
	CONSTRAINT pk_directory_roles PRIMARY KEY (guild_id, role_id)
);

CREATE TABLE directory_channels (
	guild_id BIGINT NOT NULL,
	channel_id BIGINT NOT NULL,
	name VARCHAR(100) NOT NULL,
	kind VARCHAR(16) NOT NULL,
	position INTEGER NOT NULL,
	can_post BOOLEAN NOT NULL,
	CONSTRAINT pk_directory_channels PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE directory_members (
	guild_id BIGINT NOT NULL,
	user_id BIGINT NOT NULL,
	name VARCHAR(100) NOT NULL,
	avatar VARCHAR(64),
	seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_directory_members PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE guilds (
	guild_id BIGINT NOT NULL,
	name VARCHAR(100),
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_guilds PRIMARY KEY (guild_id)
);

CREATE TABLE heist_settings (
	guild_id BIGINT NOT NULL,
	name VARCHAR(32) NOT NULL,
	value VARCHAR(32) NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_heist_settings PRIMARY KEY (guild_id, name)
);

CREATE TABLE heists (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	state VARCHAR(16) NOT NULL,
	open_key VARCHAR(64),
	opened_at TIMESTAMP WITH TIME ZONE NOT NULL,
	closes_at TIMESTAMP WITH TIME ZONE NOT NULL,
	resolved_at TIMESTAMP WITH TIME ZONE,
	announced_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_heists PRIMARY KEY (id),
	CONSTRAINT uq_heists_open_key UNIQUE (open_key)
);

CREATE INDEX ix_heists_guild_id_platform_opened_at ON heists (guild_id, platform, opened_at);

CREATE INDEX ix_heists_state_closes_at ON heists (state, closes_at);

CREATE TABLE heist_participants (
	id BIGSERIAL NOT NULL,
	heist_id BIGINT NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	stake BIGINT NOT NULL,
	risk VARCHAR(8) NOT NULL,
	joined_at TIMESTAMP WITH TIME ZONE NOT NULL,
	has_sub_badge BOOLEAN DEFAULT false NOT NULL,
	tier VARCHAR(8),
	tier_multiplier_x100 INTEGER,
	chance_percent INTEGER,
	risk_multiplier_x100 INTEGER,
	won BOOLEAN,
	payout BIGINT,
	CONSTRAINT pk_heist_participants PRIMARY KEY (id),
	CONSTRAINT uq_heist_participants_heist_id_platform_user_id UNIQUE (heist_id, platform_user_id)
);

CREATE INDEX ix_heist_participants_guild_id_platform_platform_user_id ON heist_participants (guild_id, platform, platform_user_id);

CREATE TABLE import_runs (
	guild_id BIGINT NOT NULL,
	source VARCHAR(32) NOT NULL,
	status VARCHAR(16) NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_import_runs PRIMARY KEY (guild_id, source)
);

CREATE TABLE import_markers (
	guild_id BIGINT NOT NULL,
	source VARCHAR(32) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	imported_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_import_markers PRIMARY KEY (guild_id, source, source_ref)
);

CREATE TABLE imported_winners (
	guild_id BIGINT NOT NULL,
	source VARCHAR(32) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	period_starts_at TIMESTAMP WITH TIME ZONE,
	period_ends_at TIMESTAMP WITH TIME ZONE,
	discord_user_id BIGINT,
	platform VARCHAR(16),
	platform_user_id VARCHAR(64),
	username VARCHAR(100) NOT NULL,
	tickets INTEGER,
	prize VARCHAR(200) DEFAULT '' NOT NULL,
	drawn_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_imported_winners PRIMARY KEY (guild_id, source, source_ref)
);

CREATE TABLE account_links (
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	discord_user_id BIGINT NOT NULL,
	username VARCHAR(100) NOT NULL,
	linked_in_guild_id BIGINT NOT NULL,
	linked_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_account_links PRIMARY KEY (platform, platform_user_id),
	CONSTRAINT uq_account_links_discord_user_id_platform UNIQUE (discord_user_id, platform)
);

CREATE TABLE link_settings (
	guild_id BIGINT NOT NULL,
	log_channel_id BIGINT,
	linked_role_id BIGINT,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_link_settings PRIMARY KEY (guild_id)
);

CREATE TABLE link_panels (
	guild_id BIGINT NOT NULL,
	message_id BIGINT NOT NULL,
	channel_id BIGINT NOT NULL,
	kind VARCHAR(16) NOT NULL,
	emoji VARCHAR(100),
	created_by BIGINT NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_link_panels PRIMARY KEY (guild_id, message_id)
);

CREATE TABLE link_history (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	discord_user_id BIGINT NOT NULL,
	action VARCHAR(16) NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64),
	username VARCHAR(100),
	reason VARCHAR(32),
	actor_id BIGINT,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_link_history PRIMARY KEY (id)
);

CREATE INDEX ix_link_history_guild_id_discord_user_id ON link_history (guild_id, discord_user_id);

CREATE TABLE live_changes (
	guild_id BIGINT NOT NULL,
	topic VARCHAR(16) NOT NULL,
	seq BIGINT NOT NULL,
	CONSTRAINT pk_live_changes PRIMARY KEY (guild_id, topic)
);

CREATE TABLE overlay_tokens (
	guild_id BIGINT NOT NULL,
	kind VARCHAR(16) NOT NULL,
	token_hash VARCHAR(64) NOT NULL,
	token_sealed VARCHAR(512) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_overlay_tokens PRIMARY KEY (guild_id, kind),
	CONSTRAINT uq_overlay_tokens_token_hash UNIQUE (token_hash)
);

CREATE TABLE overlay_settings (
	guild_id BIGINT NOT NULL,
	alert_vip BOOLEAN DEFAULT true NOT NULL,
	alert_gifts BOOLEAN DEFAULT true NOT NULL,
	alert_milestones BOOLEAN DEFAULT true NOT NULL,
	milestones VARCHAR(64) DEFAULT '100,500,1000' NOT NULL,
	alert_seconds INTEGER DEFAULT '6' NOT NULL,
	accent_colour VARCHAR(7) DEFAULT '#9146ff' NOT NULL,
	text_colour VARCHAR(7) DEFAULT '#ffffff' NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_overlay_settings PRIMARY KEY (guild_id)
);

CREATE TABLE overlay_alert_counters (
	guild_id BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	CONSTRAINT pk_overlay_alert_counters PRIMARY KEY (guild_id)
);

CREATE TABLE overlay_alerts (
	guild_id BIGINT NOT NULL,
	seq BIGINT NOT NULL,
	kind VARCHAR(24) NOT NULL,
	title VARCHAR(200) NOT NULL,
	detail VARCHAR(200) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_overlay_alerts PRIMARY KEY (guild_id, seq),
	CONSTRAINT uq_overlay_alerts_guild_id_source_ref UNIQUE (guild_id, source_ref)
);

CREATE TABLE points_settings (
	guild_id BIGINT NOT NULL,
	name VARCHAR(32) DEFAULT 'points' NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	watch_rate INTEGER DEFAULT '1' NOT NULL,
	sub_rate INTEGER DEFAULT '2' NOT NULL,
	chat_points INTEGER DEFAULT '1' NOT NULL,
	chat_cap INTEGER DEFAULT '20' NOT NULL,
	post_minutes INTEGER DEFAULT '30' NOT NULL,
	earned_until TIMESTAMP WITH TIME ZONE,
	backend VARCHAR(16) DEFAULT 'ledger' NOT NULL,
	se_channel_id VARCHAR(24),
	se_jwt TEXT,
	CONSTRAINT pk_points_settings PRIMARY KEY (guild_id)
);

CREATE TABLE points_ledger (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	amount BIGINT NOT NULL,
	source VARCHAR(16) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	actor_id BIGINT,
	actor VARCHAR(100),
	reason VARCHAR(200) DEFAULT '' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_points_ledger PRIMARY KEY (id),
	CONSTRAINT uq_points_ledger_guild_id_source_source_ref UNIQUE (guild_id, source, source_ref)
);

CREATE INDEX ix_points_ledger_guild_id_platform_platform_user_id ON points_ledger (guild_id, platform, platform_user_id);

CREATE TABLE points_balances (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	points BIGINT NOT NULL,
	CONSTRAINT pk_points_balances PRIMARY KEY (guild_id, platform, platform_user_id),
	CONSTRAINT ck_points_balances_not_negative CHECK (points >= 0)
);

CREATE TABLE points_accrual (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	window_start TIMESTAMP WITH TIME ZONE NOT NULL,
	watch_units BIGINT DEFAULT '0' NOT NULL,
	chat_points BIGINT DEFAULT '0' NOT NULL,
	chat_hour TIMESTAMP WITH TIME ZONE,
	chat_count INTEGER DEFAULT '0' NOT NULL,
	last_chat_at TIMESTAMP WITH TIME ZONE,
	last_chat_digest VARCHAR(32) DEFAULT '' NOT NULL,
	CONSTRAINT pk_points_accrual PRIMARY KEY (guild_id, platform, platform_user_id)
);

CREATE INDEX ix_points_accrual_guild_id_window_start ON points_accrual (guild_id, window_start);

CREATE TABLE points_se_holds (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	username VARCHAR(32) NOT NULL,
	amount BIGINT NOT NULL,
	source VARCHAR(16) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	settled_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_points_se_holds PRIMARY KEY (id),
	CONSTRAINT uq_points_se_holds_guild_id_source_source_ref UNIQUE (guild_id, source, source_ref)
);

CREATE INDEX ix_points_se_holds_guild_id_username ON points_se_holds (guild_id, username);

CREATE TABLE raffle_settings (
	guild_id BIGINT NOT NULL,
	watch_hour_tickets INTEGER DEFAULT '10' NOT NULL,
	gifted_sub_tickets INTEGER DEFAULT '15' NOT NULL,
	wager_thousand_tickets INTEGER DEFAULT '20' NOT NULL,
	gift_hold_minutes INTEGER DEFAULT '0' NOT NULL,
	auto_draw BOOLEAN,
	announcement_channel_id BIGINT,
	time_zone VARCHAR(64) DEFAULT 'UTC' NOT NULL,
	linked_only BOOLEAN DEFAULT true NOT NULL,
	running BOOLEAN DEFAULT false NOT NULL,
	CONSTRAINT pk_raffle_settings PRIMARY KEY (guild_id)
);

CREATE TABLE raffle_periods (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	starts_at TIMESTAMP WITH TIME ZONE NOT NULL,
	ends_at TIMESTAMP WITH TIME ZONE NOT NULL,
	status VARCHAR(16) NOT NULL,
	seed VARCHAR(64) NOT NULL,
	commitment VARCHAR(64) NOT NULL,
	beacon_round BIGINT,
	beacon_genesis_time BIGINT,
	beacon_period_seconds INTEGER,
	beacon_chain_hash VARCHAR(64),
	beacon_scheme VARCHAR(64),
	beacon_public_key VARCHAR(192),
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	opened_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	snapshot_hash VARCHAR(64),
	eligible TEXT,
	open_announced BOOLEAN DEFAULT false NOT NULL,
	close_announced BOOLEAN DEFAULT false NOT NULL,
	draw_due BOOLEAN DEFAULT false NOT NULL,
	CONSTRAINT pk_raffle_periods PRIMARY KEY (id)
);

CREATE INDEX ix_raffle_periods_guild_id_status ON raffle_periods (guild_id, status);

CREATE UNIQUE INDEX uq_raffle_periods_guild_id_current ON raffle_periods (guild_id) WHERE status IN ('scheduled', 'open');

CREATE TABLE raffle_ledger (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	period_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	amount INTEGER NOT NULL,
	source VARCHAR(16) NOT NULL,
	source_ref VARCHAR(255) NOT NULL,
	actor_id BIGINT,
	reason VARCHAR(200) DEFAULT '' NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_raffle_ledger PRIMARY KEY (id),
	CONSTRAINT uq_raffle_ledger_period_id_source_source_ref UNIQUE (period_id, source, source_ref)
);

CREATE INDEX ix_raffle_ledger_guild_id_period_id_platform_platform_user_id ON raffle_ledger (guild_id, period_id, platform, platform_user_id);

CREATE TABLE raffle_balances (
	period_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	guild_id BIGINT NOT NULL,
	tickets BIGINT NOT NULL,
	CONSTRAINT pk_raffle_balances PRIMARY KEY (period_id, platform, platform_user_id)
);

ALTER TABLE raffle_balances SET (fillfactor = 80);

CREATE TABLE raffle_frozen_ranges (
	period_id BIGINT NOT NULL,
	range_end BIGINT NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	tickets BIGINT NOT NULL,
	CONSTRAINT pk_raffle_frozen_ranges PRIMARY KEY (period_id, range_end)
);

CREATE TABLE raffle_watch_progress (
	period_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	guild_id BIGINT NOT NULL,
	baseline_seconds BIGINT NOT NULL,
	hours_awarded INTEGER DEFAULT '0' NOT NULL,
	CONSTRAINT pk_raffle_watch_progress PRIMARY KEY (period_id, platform, platform_user_id)
);

ALTER TABLE raffle_watch_progress SET (fillfactor = 80);

CREATE TABLE raffle_gifts (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	period_id BIGINT NOT NULL,
	reference VARCHAR(64) NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	gifter_name VARCHAR(100) NOT NULL,
	giftees INTEGER NOT NULL,
	tickets INTEGER NOT NULL,
	status VARCHAR(16) NOT NULL,
	received_at TIMESTAMP WITH TIME ZONE NOT NULL,
	release_at TIMESTAMP WITH TIME ZONE NOT NULL,
	voided_by BIGINT,
	CONSTRAINT pk_raffle_gifts PRIMARY KEY (id),
	CONSTRAINT uq_raffle_gifts_period_id_reference UNIQUE (period_id, reference)
);

CREATE INDEX ix_raffle_gifts_status_release_at ON raffle_gifts (status, release_at);

CREATE TABLE raffle_exclusions (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	excluded_by BIGINT NOT NULL,
	excluded_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_raffle_exclusions PRIMARY KEY (guild_id, platform, platform_user_id)
);

CREATE TABLE shuffle_settings (
	guild_id BIGINT NOT NULL,
	affiliate_url TEXT,
	campaign_codes TEXT DEFAULT '' NOT NULL,
	verified_role_id BIGINT,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	poll_failures INTEGER DEFAULT '0' NOT NULL,
	next_poll_at TIMESTAMP WITH TIME ZONE,
	last_success_at TIMESTAMP WITH TIME ZONE,
	last_problem VARCHAR(200),
	last_problem_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_shuffle_settings PRIMARY KEY (guild_id)
);

CREATE TABLE shuffle_link_requests (
	guild_id BIGINT NOT NULL,
	discord_user_id BIGINT NOT NULL,
	username VARCHAR(64) NOT NULL,
	requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_shuffle_link_requests PRIMARY KEY (guild_id, discord_user_id)
);

CREATE TABLE shuffle_links (
	guild_id BIGINT NOT NULL,
	account_key VARCHAR(64) NOT NULL,
	username VARCHAR(64) NOT NULL,
	discord_user_id BIGINT NOT NULL,
	verified_by BIGINT NOT NULL,
	verified_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_shuffle_links PRIMARY KEY (guild_id, account_key),
	CONSTRAINT uq_shuffle_links_guild_id_discord_user_id UNIQUE (guild_id, discord_user_id)
);

CREATE TABLE shuffle_wager_totals (
	guild_id BIGINT NOT NULL,
	account_key VARCHAR(64) NOT NULL,
	username VARCHAR(64) NOT NULL,
	total_cents BIGINT NOT NULL,
	seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_shuffle_wager_totals PRIMARY KEY (guild_id, account_key)
);

CREATE TABLE shuffle_wager_periods (
	guild_id BIGINT NOT NULL,
	period_id BIGINT NOT NULL,
	baseline_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_shuffle_wager_periods PRIMARY KEY (guild_id, period_id)
);

CREATE TABLE shuffle_wager_progress (
	period_id BIGINT NOT NULL,
	account_key VARCHAR(64) NOT NULL,
	guild_id BIGINT NOT NULL,
	baseline_cents BIGINT NOT NULL,
	tickets_given BIGINT DEFAULT '0' NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_shuffle_wager_progress PRIMARY KEY (period_id, account_key)
);

CREATE TABLE role_tiers (
	guild_id BIGINT NOT NULL,
	role_id BIGINT NOT NULL,
	minutes INTEGER NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	enabled BOOLEAN DEFAULT true NOT NULL,
	CONSTRAINT pk_role_tiers PRIMARY KEY (guild_id, role_id)
);

CREATE TABLE role_settings (
	guild_id BIGINT NOT NULL,
	enabled BOOLEAN DEFAULT true NOT NULL,
	mode VARCHAR(16) DEFAULT 'all' NOT NULL,
	dm_on_new_role BOOLEAN DEFAULT false NOT NULL,
	CONSTRAINT pk_role_settings PRIMARY KEY (guild_id)
);

CREATE TABLE role_awards (
	guild_id BIGINT NOT NULL,
	discord_user_id BIGINT NOT NULL,
	role_id BIGINT NOT NULL,
	awarded_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_role_awards PRIMARY KEY (guild_id, discord_user_id, role_id)
);

CREATE TABLE slot_call_settings (
	guild_id BIGINT NOT NULL,
	enabled BOOLEAN DEFAULT false NOT NULL,
	channel_id BIGINT,
	cooldown_seconds INTEGER DEFAULT '30' NOT NULL,
	max_open_per_user INTEGER,
	require_link BOOLEAN DEFAULT false NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_slot_call_settings PRIMARY KEY (guild_id)
);

CREATE TABLE slot_calls (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	event_key VARCHAR(255) NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	discord_user_id BIGINT,
	slot_name VARCHAR(200) NOT NULL,
	slot_key VARCHAR(200) NOT NULL,
	status VARCHAR(16) NOT NULL,
	called_at TIMESTAMP WITH TIME ZONE NOT NULL,
	posted_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	closed_by BIGINT,
	CONSTRAINT pk_slot_calls PRIMARY KEY (id),
	CONSTRAINT uq_slot_calls_guild_id_event_key UNIQUE (guild_id, event_key)
);

CREATE INDEX ix_slot_calls_guild_id_platform_platform_user_id_called_at ON slot_calls (guild_id, platform, platform_user_id, called_at);

CREATE INDEX ix_slot_calls_guild_id_status_slot_key ON slot_calls (guild_id, status, slot_key);

CREATE TABLE slot_call_blacklist (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64),
	username VARCHAR(100) NOT NULL,
	username_key VARCHAR(100) NOT NULL,
	reason VARCHAR(200),
	added_by BIGINT NOT NULL,
	added_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_slot_call_blacklist PRIMARY KEY (id),
	CONSTRAINT uq_slot_call_blacklist_guild_id_platform_username_key UNIQUE (guild_id, platform, username_key)
);

CREATE TABLE sub_tiers (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	tier VARCHAR(1) NOT NULL,
	is_prime BOOLEAN DEFAULT false NOT NULL,
	source VARCHAR(48) NOT NULL,
	since TIMESTAMP WITH TIME ZONE NOT NULL,
	seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_sub_tiers PRIMARY KEY (guild_id, platform, platform_user_id)
);

CREATE INDEX ix_sub_tiers_guild_id_expires_at ON sub_tiers (guild_id, expires_at);

CREATE TABLE viewers (
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_viewers PRIMARY KEY (platform, platform_user_id)
);

CREATE TABLE vip_settings (
	guild_id BIGINT NOT NULL,
	reward_id VARCHAR(64),
	reward_title VARCHAR(200),
	reward_cost INTEGER,
	reward_prompt VARCHAR(200),
	reward_max_per_stream INTEGER,
	reward_max_per_user_per_stream INTEGER,
	reward_cooldown_seconds INTEGER,
	duration_hours INTEGER DEFAULT '24' NOT NULL,
	is_stacking BOOLEAN DEFAULT true NOT NULL,
	max_hours INTEGER DEFAULT '168' NOT NULL,
	max_concurrent INTEGER,
	is_chat_notices BOOLEAN DEFAULT true NOT NULL,
	is_auto_removal BOOLEAN DEFAULT true NOT NULL,
	notice_channel_id BIGINT,
	kick_reward_title VARCHAR(200),
	kick_role_id BIGINT,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_vip_settings PRIMARY KEY (guild_id)
);

CREATE TABLE vip_grants (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	source VARCHAR(16) NOT NULL,
	granted_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE,
	removed_at TIMESTAMP WITH TIME ZONE,
	removal_reason VARCHAR(200),
	last_error VARCHAR(200),
	removal_tried_at TIMESTAMP WITH TIME ZONE,
	discord_user_id BIGINT,
	role_id BIGINT,
	CONSTRAINT pk_vip_grants PRIMARY KEY (id)
);

CREATE INDEX ix_vip_grants_guild_id_platform_platform_user_id_removed_at ON vip_grants (guild_id, platform, platform_user_id, removed_at);

CREATE INDEX ix_vip_grants_guild_id_removed_at_expires_at ON vip_grants (guild_id, removed_at, expires_at);

CREATE TABLE vip_redemptions (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	redemption_id VARCHAR(64) NOT NULL,
	state VARCHAR(16) NOT NULL,
	outcome VARCHAR(200),
	recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
	leased_until TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_vip_redemptions PRIMARY KEY (guild_id, platform, redemption_id)
);

CREATE TABLE vip_audit (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	username VARCHAR(100) NOT NULL,
	action VARCHAR(16) NOT NULL,
	actor_kind VARCHAR(16) NOT NULL,
	actor_id VARCHAR(64),
	reason VARCHAR(200),
	redemption_id VARCHAR(64),
	reward_cost INTEGER,
	previous_expires_at TIMESTAMP WITH TIME ZONE,
	new_expires_at TIMESTAMP WITH TIME ZONE,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_vip_audit PRIMARY KEY (id)
);

CREATE INDEX ix_vip_audit_guild_id_platform_user_id ON vip_audit (guild_id, platform_user_id);

CREATE INDEX ix_vip_audit_guild_id_at ON vip_audit (guild_id, at);

CREATE TABLE watchtime (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	seconds BIGINT DEFAULT '0' NOT NULL,
	last_seen TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_watchtime PRIMARY KEY (guild_id, platform, platform_user_id)
);

ALTER TABLE watchtime SET (fillfactor = 50);

CREATE TABLE watch_presence (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	last_active_at TIMESTAMP WITH TIME ZONE NOT NULL,
	active_bucket BIGINT,
	earlier_active_at TIMESTAMP WITH TIME ZONE,
	CONSTRAINT pk_watch_presence PRIMARY KEY (guild_id, platform, platform_user_id, broadcaster_user_id)
);

CREATE INDEX ix_watch_presence_guild_id_last_active_at ON watch_presence (guild_id, last_active_at);

CREATE TABLE watch_streams (
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	is_live BOOLEAN NOT NULL,
	changed_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_watch_streams PRIMARY KEY (guild_id, platform, broadcaster_user_id)
);

CREATE TABLE watch_settings (
	guild_id BIGINT NOT NULL,
	tracking_enabled BOOLEAN DEFAULT true NOT NULL,
	last_tick_at TIMESTAMP WITH TIME ZONE,
	last_tick_seconds INTEGER,
	CONSTRAINT pk_watch_settings PRIMARY KEY (guild_id)
);

CREATE TABLE watch_hours (
	guild_id BIGINT NOT NULL,
	hour TIMESTAMP WITH TIME ZONE NOT NULL,
	peak_viewers INTEGER NOT NULL,
	viewer_seconds BIGINT NOT NULL,
	CONSTRAINT pk_watch_hours PRIMARY KEY (guild_id, hour)
);

CREATE TABLE web_sessions (
	id_hash VARCHAR(64) NOT NULL,
	user_id BIGINT NOT NULL,
	started_at TIMESTAMP WITH TIME ZONE NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	CONSTRAINT pk_web_sessions PRIMARY KEY (id_hash)
);

CREATE INDEX ix_web_sessions_user_id ON web_sessions (user_id);

CREATE INDEX ix_web_sessions_expires_at ON web_sessions (expires_at);

CREATE TABLE guild_channels (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	channel_slug VARCHAR(100) NOT NULL,
	broadcaster_user_id VARCHAR(64) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	channel_id BIGINT,
	chatroom_id BIGINT,
	CONSTRAINT pk_guild_channels PRIMARY KEY (id),
	CONSTRAINT uq_guild_channels_guild_id_platform UNIQUE (guild_id, platform),
	CONSTRAINT fk_guild_channels_guild_id_guilds FOREIGN KEY(guild_id) REFERENCES guilds (guild_id) ON DELETE CASCADE
);

CREATE INDEX ix_guild_channels_platform_broadcaster_user_id ON guild_channels (platform, broadcaster_user_id);

CREATE TABLE raffle_draws (
	id BIGSERIAL NOT NULL,
	guild_id BIGINT NOT NULL,
	period_id BIGINT NOT NULL,
	status VARCHAR(16) NOT NULL,
	winners_wanted INTEGER NOT NULL,
	prize VARCHAR(200) DEFAULT '' NOT NULL,
	reroll_of BIGINT,
	reason VARCHAR(200) DEFAULT '' NOT NULL,
	requested_by BIGINT,
	requested_at TIMESTAMP WITH TIME ZONE NOT NULL,
	forced BOOLEAN DEFAULT false NOT NULL,
	forced_by BIGINT,
	beacon_round BIGINT,
	beacon_randomness VARCHAR(128),
	beacon_signature VARCHAR(192),
	beacon_previous_signature VARCHAR(192),
	first_counter INTEGER,
	drawn_at TIMESTAMP WITH TIME ZONE,
	attempts INTEGER DEFAULT '0' NOT NULL,
	last_error VARCHAR(200),
	announced BOOLEAN DEFAULT false NOT NULL,
	CONSTRAINT pk_raffle_draws PRIMARY KEY (id),
	CONSTRAINT fk_raffle_draws_period_id_raffle_periods FOREIGN KEY(period_id) REFERENCES raffle_periods (id)
);

CREATE INDEX ix_raffle_draws_guild_id_period_id ON raffle_draws (guild_id, period_id);

CREATE INDEX ix_raffle_draws_status ON raffle_draws (status);

CREATE TABLE raffle_winners (
	draw_id BIGINT NOT NULL,
	position INTEGER NOT NULL,
	guild_id BIGINT NOT NULL,
	platform VARCHAR(16) NOT NULL,
	platform_user_id VARCHAR(64) NOT NULL,
	ticket BIGINT NOT NULL,
	counter INTEGER NOT NULL,
	CONSTRAINT pk_raffle_winners PRIMARY KEY (draw_id, position),
	CONSTRAINT fk_raffle_winners_draw_id_raffle_draws FOREIGN KEY(draw_id) REFERENCES raffle_draws (id)
);
