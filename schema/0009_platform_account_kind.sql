-- The product an account belongs to where one platform login reaches several
-- (Yahoo! JAPAN Ads: `search` or `display`, two APIs with their own
-- accounts); empty for platforms with one. The account menu shows it, and the
-- connector picks the API by it. Accounts linked before this migration are
-- of Meta or Google and keep the empty default.
-- The second statement reaches the Distributed table in cluster mode; on a
-- single server it names the same table again and changes nothing.
ALTER TABLE ${db}.platform_accounts${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS kind LowCardinality(String) DEFAULT ''
    COMMENT 'Yahoo! JAPAN: search or display (which API the account lives in); empty for single-product platforms'
    AFTER account_id;

ALTER TABLE ${db}.platform_accounts ${on_cluster}
    ADD COLUMN IF NOT EXISTS kind LowCardinality(String) DEFAULT ''
    COMMENT 'Yahoo! JAPAN: search or display (which API the account lives in); empty for single-product platforms'
    AFTER account_id;
