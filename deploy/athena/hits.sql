-- The lake of `trackless lake --out s3://BUCKET/PREFIX/` as an Athena table
-- (docs/lake.md). Replace BUCKET/PREFIX in LOCATION and in
-- storage.location.template, and the first day of projection.dt.range.
-- Partition projection: no Glue crawler and no MSCK REPAIR TABLE; a new
-- hour's files are queried as soon as they are written. Hours are UTC.
CREATE EXTERNAL TABLE IF NOT EXISTS trackless_hits (
  `ts` timestamp,
  `host` string,
  `scheme` string,
  `method` string,
  `path` string,
  `query` string,
  `status` int,
  `bytes` bigint,
  `time_taken_ms` double,
  `ttfb_ms` double,
  `client_ip` string,
  `user_agent` string,
  `referrer` string,
  `kind` string,
  `agent` string,
  `agent_name` string,
  `edge_location` string,
  `edge_result_type` string,
  `request_id` string,
  `protocol` string,
  `tls` string,
  `content_type` string,
  `country` string,
  `site` int,
  `source` string,
  `line` bigint,
  `params` map<string,string>
)
PARTITIONED BY (`dt` string, `hour` int)
STORED AS PARQUET
LOCATION 's3://BUCKET/PREFIX/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2',
  'storage.location.template' = 's3://BUCKET/PREFIX/dt=${dt}/hour=${hour}/'
);
