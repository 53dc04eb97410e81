    countIf(event_type = 'request')              AS requests,
    countIf(event_type = 'impression')           AS impressions,
    countIf(event_type = 'click')                AS clicks,
    countIf(event_type = 'video_start')          AS video_starts,
    countIf(event_type = 'video_first_quartile') AS video_first_quartiles,
    countIf(event_type = 'video_midpoint')       AS video_midpoints,
    countIf(event_type = 'video_third_quartile') AS video_third_quartiles,
    countIf(event_type = 'video_complete')       AS video_completes,
    countIf(event_type = 'error')                AS errors,
    sum(revenue_micros)                          AS revenue_micros,
    sum(cost_micros)                             AS cost_micros,
    -- Unknown viewers (hash 0) are not users: the -If state has the same
    -- type as the plain state, so readers merge it with uniqCombined64Merge.
    uniqCombined64StateIf(user_id_hash, user_id_hash != 0) AS users
