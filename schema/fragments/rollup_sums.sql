        sum(requests), sum(impressions), sum(clicks), sum(video_starts), sum(video_first_quartiles),
        sum(video_midpoints), sum(video_third_quartiles), sum(video_completes), sum(errors),
        sum(revenue_micros), sum(cost_micros), uniqCombined64Merge(users)
