-- `platform_credentials.expires_at` now says when the grant itself ends, so
-- that the accounts listing can warn before a user must link again: Meta
-- gives no refresh token, and its long-lived token ends after about 60 days.
-- A platform whose access tokens renew themselves (a refresh token) stores
-- 1970, like one whose grants never expire. The second statement reaches the
-- Distributed table in cluster mode; on a single server it names the same
-- table again and changes nothing.
ALTER TABLE ${db}.platform_credentials${local} ${on_cluster}
    COMMENT COLUMN expires_at 'When the grant ends and the user must link the account again (Meta: its long-lived token''s expiry); 1970 when it renews itself or never ends';

ALTER TABLE ${db}.platform_credentials ${on_cluster}
    COMMENT COLUMN expires_at 'When the grant ends and the user must link the account again (Meta: its long-lived token''s expiry); 1970 when it renews itself or never ends';
