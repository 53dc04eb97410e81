-- Organic insights of Facebook Pages and Instagram business accounts
-- (connectors/src/meta/organic/) in platform_daily beside the ad measures.
-- Views go to impressions, reach and video views to their columns; these four
-- are typed columns rather than `extra` text because the query API
-- aggregates them, and `followers` is a gauge whose missing days must stay
-- missing (NULL), not zero: the last known value of a range is what counts.
-- Rows of the ad platforms keep the defaults.
-- The second statement reaches the Distributed table in cluster mode; on a
-- single server it names the same table again and changes nothing.
ALTER TABLE ${db}.platform_daily${local} ${on_cluster}
    ADD COLUMN IF NOT EXISTS followers Nullable(UInt64) DEFAULT NULL
    COMMENT 'Organic: followers at the end of the day, a gauge (never sum over days); NULL where the platform gives none (ad platforms, Instagram)'
    AFTER video_views,
    ADD COLUMN IF NOT EXISTS follows UInt64 DEFAULT 0
    COMMENT 'Organic: new followers that day'
    AFTER followers,
    ADD COLUMN IF NOT EXISTS profile_views UInt64 DEFAULT 0
    COMMENT 'Organic: visits of the Page or the Instagram profile'
    AFTER follows,
    ADD COLUMN IF NOT EXISTS engagements UInt64 DEFAULT 0
    COMMENT 'Organic: reactions, comments, shares, saves and clicks on the content'
    AFTER profile_views;

ALTER TABLE ${db}.platform_daily ${on_cluster}
    ADD COLUMN IF NOT EXISTS followers Nullable(UInt64) DEFAULT NULL
    COMMENT 'Organic: followers at the end of the day, a gauge (never sum over days); NULL where the platform gives none (ad platforms, Instagram)'
    AFTER video_views,
    ADD COLUMN IF NOT EXISTS follows UInt64 DEFAULT 0
    COMMENT 'Organic: new followers that day'
    AFTER followers,
    ADD COLUMN IF NOT EXISTS profile_views UInt64 DEFAULT 0
    COMMENT 'Organic: visits of the Page or the Instagram profile'
    AFTER follows,
    ADD COLUMN IF NOT EXISTS engagements UInt64 DEFAULT 0
    COMMENT 'Organic: reactions, comments, shares, saves and clicks on the content'
    AFTER profile_views;
