    requests               SimpleAggregateFunction(sum, UInt64) COMMENT 'Ad requests',
    impressions            SimpleAggregateFunction(sum, UInt64) COMMENT 'Impressions',
    clicks                 SimpleAggregateFunction(sum, UInt64) COMMENT 'Clicks',
    video_starts           SimpleAggregateFunction(sum, UInt64) COMMENT 'VAST video starts',
    video_first_quartiles  SimpleAggregateFunction(sum, UInt64) COMMENT 'VAST first quartiles (25%)',
    video_midpoints        SimpleAggregateFunction(sum, UInt64) COMMENT 'VAST midpoints (50%)',
    video_third_quartiles  SimpleAggregateFunction(sum, UInt64) COMMENT 'VAST third quartiles (75%)',
    video_completes        SimpleAggregateFunction(sum, UInt64) COMMENT 'VAST completes (100%)',
    errors                 SimpleAggregateFunction(sum, UInt64) COMMENT 'Error events',
    revenue_micros         SimpleAggregateFunction(sum, Int64)  COMMENT 'Revenue, micro-units of the reporting currency',
    cost_micros            SimpleAggregateFunction(sum, Int64)  COMMENT 'Cost, micro-units of the reporting currency',
    users                  AggregateFunction(uniqCombined64, UInt64)
                                                                COMMENT 'Distinct known users (HLL state): read with uniqCombined64Merge(users)'
