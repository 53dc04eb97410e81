-- Token lifecycle for the query API: an optional expiry on each token, and
-- what happened to a token since (`adhouse-api token revoke`, and its last
-- use), appended as events rather than edited in place: revoking is an
-- insert, never an `ALTER ... DELETE`.
--
-- The API reads a token, its revocation and its last use in one query. Last
-- use is written at most once a minute per token (only when the stored one
-- is older), so it costs no write per request.

ALTER TABLE ${db}.api_tokens${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS expires_at Nullable(DateTime64(3, 'UTC'))
        COMMENT 'When the token stops working; NULL for never';

-- In cluster mode the Distributed table over api_tokens_local needs the
-- column too; on a single server this is the same table and a no-op.
ALTER TABLE ${db}.api_tokens ${on_cluster}
    ADD COLUMN IF NOT EXISTS expires_at Nullable(DateTime64(3, 'UTC'))
        COMMENT 'When the token stops working; NULL for never';

CREATE TABLE IF NOT EXISTS ${db}.api_token_events${local} ${on_cluster}
(
    token_sha256    String                  COMMENT 'Hex SHA-256 of the bearer token (api_tokens.token_sha256)',
    event           Enum8('revoked' = 1, 'used' = 2)
                                            COMMENT 'revoked: the token no longer works; used: it authenticated a request',
    at              DateTime64(3, 'UTC') DEFAULT now64(3)
                                            COMMENT 'When it happened'
)
-- distributed by: cityHash64(token_sha256)
ENGINE = ${replicated}ReplacingMergeTree(at)
ORDER BY (token_sha256, event)
COMMENT 'Revocations and last uses of query API tokens (the latest of each per token)';
