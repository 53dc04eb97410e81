-- What an OAuth flow keeps between the consent request and the callback when
-- the platform's protocol needs it: OAuth 1.0a's temporary credentials (X's
-- request token and its secret, RFC 5849 §2.1), sealed with the vault under
-- the state's nonce. OAuth 2.0 flows keep nothing (PKCE verifiers are derived
-- from the nonce). States expire after 10 minutes, so a day is plenty.
CREATE TABLE IF NOT EXISTS ${db}.oauth_flows${local} ${on_cluster}
(
    nonce           String                  COMMENT 'The nonce of the state the flow was started with',
    sealed          String                  COMMENT 'The temporary credentials, sealed like platform_credentials.sealed (context: the nonce)',
    created_at      DateTime64(3, 'UTC')    COMMENT 'When the consent request was made'
)
-- distributed by: cityHash64(nonce)
ENGINE = ${replicated}ReplacingMergeTree(created_at)
ORDER BY nonce
TTL toDateTime(created_at) + toIntervalDay(1)
COMMENT 'Temporary OAuth credentials of flows awaiting their callback (do not grant to analysts)';
