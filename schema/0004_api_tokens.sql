-- Bearer tokens of the query API (`adhouse-api token create`). Only the
-- SHA-256 of a token is stored, so a copy of this table grants nothing; the
-- token itself is shown once, when it is created. A token maps to one
-- tenant, and the API scopes every query to it. Revoke a token by deleting
-- its row (`ALTER TABLE api_tokens DELETE WHERE tenant = ...`); the API
-- caches lookups for `api.token_cache_secs`.
CREATE TABLE IF NOT EXISTS ${db}.api_tokens${local} ${on_cluster}
(
    token_sha256    String                  COMMENT 'Hex SHA-256 of the bearer token',
    tenant          LowCardinality(String)  COMMENT 'Tenant that every query made with the token is scoped to',
    timezone        LowCardinality(String)  COMMENT 'IANA timezone of requests that name none',
    created_at      DateTime64(3, 'UTC') DEFAULT now64(3)
                                            COMMENT 'When the token was created'
)
-- distributed by: cityHash64(token_sha256)
ENGINE = ${replicated}ReplacingMergeTree(created_at)
ORDER BY token_sha256
COMMENT 'Hashed bearer tokens of the query API, each mapped to a tenant';
