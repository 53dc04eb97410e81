-- Linked ad-platform accounts and their daily numbers, one format for every
-- platform (connectors/). Every table is a ReplacingMergeTree whose latest
-- version wins: read them with FINAL (or argMax by the version column).

-- One row per linked account; the API writes it on link and unlink, the sync
-- jobs on every sync (status, last sync, error).
CREATE TABLE IF NOT EXISTS ${db}.platform_accounts${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant that linked the account',
    platform        LowCardinality(String)  COMMENT 'meta, google, ...',
    account_id      String                  COMMENT 'The platform''s account id (Meta without act_, Google digits only)',
    manager_id      String                  COMMENT 'Google: manager account it is reached through (login-customer-id); empty otherwise',
    name            String                  COMMENT 'Account name on the platform',
    currency        LowCardinality(String)  COMMENT 'ISO 4217 currency of all the account''s money',
    timezone        LowCardinality(String)  COMMENT 'IANA timezone of the account''s days',
    status          Enum8('active' = 1, 'needs_relink' = 2, 'unlinked' = 3)
                                            COMMENT 'active: synced daily; needs_relink: the grant was revoked or expired, the user must link again; unlinked: removed by the user',
    status_detail   String                  COMMENT 'Why the status is what it is (the platform''s error), for the dashboard',
    linked_at       DateTime64(3, 'UTC')    COMMENT 'When the account was (last) linked',
    backfill_since  Date                    COMMENT 'First day the backfill fetches',
    backfill_until  Date                    COMMENT 'Last day the backfill fetches (the day before linking, account-local)',
    last_sync_at    Nullable(DateTime64(3, 'UTC'))
                                            COMMENT 'When a sync job last finished for the account',
    last_error      String                  COMMENT 'The last sync error, empty after a success',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'Version: when this row was written'
)
-- distributed by: cityHash64(tenant, platform, account_id)
ENGINE = ${replicated}ReplacingMergeTree(updated_at)
ORDER BY (tenant, platform, account_id)
COMMENT 'Linked ad-platform accounts (read with FINAL)';

-- Encrypted grants (AES-256-GCM, key id prefixed), never granted to analysts
-- (core/src/schema/access.rs). Tokens never appear anywhere else.
CREATE TABLE IF NOT EXISTS ${db}.platform_credentials${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant of the account',
    platform        LowCardinality(String)  COMMENT 'meta, google, ...',
    account_id      String                  COMMENT 'The account the grant is used for',
    sealed          String                  COMMENT 'key id "." base64(nonce, ciphertext, tag) of the credentials; opens only with the key and for this account',
    expires_at      DateTime64(3, 'UTC')    COMMENT 'When the access token expires (1970 when the platform gave no expiry)',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'Version: when this row was written'
)
-- distributed by: cityHash64(tenant, platform, account_id)
ENGINE = ${replicated}ReplacingMergeTree(updated_at)
ORDER BY (tenant, platform, account_id)
COMMENT 'Encrypted platform credentials (read with FINAL; do not grant to analysts)';

-- Daily numbers per (account, level, entity, account-local day). Platforms
-- restate recent days; a re-fetch writes a newer version, so FINAL leaves
-- exactly one, the latest, value per day: restated numbers replace, never add.
CREATE TABLE IF NOT EXISTS ${db}.platform_daily${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant of the account',
    platform        LowCardinality(String)  COMMENT 'meta, google, ...',
    account_id      String                  COMMENT 'The platform''s account id',
    level           LowCardinality(String)  COMMENT 'account, campaign, ad_group (Meta ad set) or ad',
    entity_id       String                  COMMENT 'Id of the campaign, ad group or ad; the account id at account level',
    entity_name     String                  COMMENT 'Its name when fetched',
    date            Date                    COMMENT 'Day in the account''s timezone',
    currency        LowCardinality(String)  COMMENT 'ISO 4217 currency of the money columns; never sum across currencies',
    impressions     UInt64                  COMMENT 'Impressions',
    clicks          UInt64                  COMMENT 'Clicks',
    spend_micros    Int64                   COMMENT 'Spend in millionths of the currency (exact)',
    conversions_micros Int64                COMMENT 'Conversions in millionths (platforms report fractions)',
    conversion_value_micros Int64           COMMENT 'Conversion value in millionths of the currency',
    reach           UInt64                  COMMENT 'People reached that day (not additive across days)',
    video_views     UInt64                  COMMENT 'Video views',
    extra           Map(String, String)     COMMENT 'Platform-specific measures under their own names, exact decimal text',
    fetched_at      DateTime64(3, 'UTC')    COMMENT 'Version: when the platform was asked; the latest fetch wins'
)
-- distributed by: cityHash64(tenant, platform, account_id)
ENGINE = ${replicated}ReplacingMergeTree(fetched_at)
PARTITION BY toYYYYMM(date)
ORDER BY (tenant, platform, account_id, level, entity_id, date)
COMMENT 'Daily ad-platform metrics, one format for all platforms (read with FINAL)';

-- Sync checkpoints: a day of an account at a level is done once its rows are
-- stored. A job that dies resumes at the first day not done.
CREATE TABLE IF NOT EXISTS ${db}.platform_sync_days${local} ${on_cluster}
(
    tenant          LowCardinality(String)  COMMENT 'Tenant of the account',
    platform        LowCardinality(String)  COMMENT 'meta, google, ...',
    account_id      String                  COMMENT 'The platform''s account id',
    level           LowCardinality(String)  COMMENT 'account, campaign, ad_group or ad',
    date            Date                    COMMENT 'Account-local day',
    rows            UInt32                  COMMENT 'Rows the platform returned for the day at this level',
    fetched_at      DateTime64(3, 'UTC')    COMMENT 'Version: when the day was fetched'
)
-- distributed by: cityHash64(tenant, platform, account_id)
ENGINE = ${replicated}ReplacingMergeTree(fetched_at)
PARTITION BY toYYYYMM(date)
ORDER BY (tenant, platform, account_id, level, date)
COMMENT 'Days each account and level has been synced (read with FINAL)';

-- OAuth grants between the platform's callback and the user's choice of
-- accounts: the sealed credentials and the accounts the grant can see, bound
-- to the tenant and the API token that started the flow. Kept one day.
CREATE TABLE IF NOT EXISTS ${db}.platform_grants${local} ${on_cluster}
(
    grant_id        String                  COMMENT 'Random id the dashboard uses to list and link the grant''s accounts',
    tenant          LowCardinality(String)  COMMENT 'Tenant that started the flow',
    platform        LowCardinality(String)  COMMENT 'meta, google, ...',
    requested_by    String                  COMMENT 'Hash of the API token that started the flow',
    sealed          String                  COMMENT 'The grant''s credentials, sealed like platform_credentials.sealed (context: the grant id)',
    accounts        String                  COMMENT 'JSON list of the accounts the grant can see (ids, names, currencies, timezones)',
    created_at      DateTime64(3, 'UTC')    COMMENT 'When the platform called back'
)
-- distributed by: cityHash64(grant_id)
ENGINE = ${replicated}ReplacingMergeTree(created_at)
ORDER BY grant_id
TTL toDateTime(created_at) + toIntervalDay(1)
COMMENT 'Pending OAuth grants awaiting the user''s choice of accounts (do not grant to analysts)';

-- Nonces of OAuth states already used: a state is accepted once.
CREATE TABLE IF NOT EXISTS ${db}.oauth_used_states${local} ${on_cluster}
(
    nonce           String                  COMMENT 'The nonce of a state that completed a callback',
    used_at         DateTime64(3, 'UTC')    COMMENT 'When it was used'
)
-- distributed by: cityHash64(nonce)
ENGINE = ${replicated}ReplacingMergeTree(used_at)
ORDER BY nonce
TTL toDateTime(used_at) + toIntervalDay(1)
COMMENT 'OAuth state nonces already used (states expire after 10 minutes, so a day is plenty)';
