-- Sensory warehouse tables, Snowflake dialect (used when snowflake-sink runs
-- with sink.backend=snowflake, through the SQL API). Same tables and columns as
-- postgres.sql, split into the same numbered migrations ("-- migration: N name";
-- see postgres.sql): `snowflake-sink --init-schema` sends each migration as one
-- multi-statement request and records it in schema_migrations. Snowflake DDL
-- commits by itself, so every statement here is idempotent (IF NOT EXISTS, OR
-- REPLACE) and a migration interrupted half-way is simply applied again.
--
-- Snowflake does not enforce PRIMARY KEY or CHECK constraints: idempotent
-- replays come from the sink's MERGE on these keys, not from the table.

-- migration: 1 warehouse_tables
CREATE TABLE IF NOT EXISTS orders (
    order_id             VARCHAR        NOT NULL,
    platform             VARCHAR        NOT NULL,
    merchant_id          VARCHAR        NOT NULL,
    product_id           VARCHAR        NOT NULL,
    product_name         VARCHAR        NOT NULL,
    quantity             INTEGER        NOT NULL,
    price                NUMBER(14, 2)  NOT NULL,
    currency             VARCHAR(3)     NOT NULL DEFAULT 'BDT',
    order_status         VARCHAR        NOT NULL,
    payment_method       VARCHAR        NOT NULL,
    shipping_city        VARCHAR,
    customer_phone_hash  VARCHAR,
    customer_email_hash  VARCHAR,
    customer_name_hash   VARCHAR,
    event_time           TIMESTAMP_TZ   NOT NULL,
    ingested_at          TIMESTAMP_TZ   NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    kafka_topic          VARCHAR        NOT NULL,
    kafka_partition      INTEGER        NOT NULL,
    kafka_offset         BIGINT         NOT NULL,
    PRIMARY KEY (platform, order_id, product_id)
);

CREATE TABLE IF NOT EXISTS weather_observations (
    city                VARCHAR       NOT NULL,
    observed_at         TIMESTAMP_TZ  NOT NULL,
    temperature         FLOAT         NOT NULL,
    condition           VARCHAR       NOT NULL,
    humidity            FLOAT         NOT NULL,
    wind_speed          FLOAT         NOT NULL,
    is_extreme_weather  BOOLEAN       NOT NULL DEFAULT FALSE,
    ingested_at         TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    kafka_topic         VARCHAR       NOT NULL,
    kafka_partition     INTEGER       NOT NULL,
    kafka_offset        BIGINT        NOT NULL,
    PRIMARY KEY (city, observed_at)
);

CREATE TABLE IF NOT EXISTS risk_decisions (
    order_id         VARCHAR       NOT NULL,
    score            SMALLINT      NOT NULL,
    decision         VARCHAR       NOT NULL,
    reasons          VARIANT       NOT NULL,
    rules_version    VARCHAR       NOT NULL,
    decided_at       TIMESTAMP_TZ  NOT NULL,
    ingested_at      TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    kafka_topic      VARCHAR       NOT NULL,
    kafka_partition  INTEGER       NOT NULL,
    kafka_offset     BIGINT        NOT NULL,
    PRIMARY KEY (order_id, rules_version)
);

CREATE TABLE IF NOT EXISTS privacy_audit (
    topic             VARCHAR       NOT NULL,
    "partition"       INTEGER       NOT NULL,
    "offset"          BIGINT        NOT NULL,
    counts            VARIANT       NOT NULL,
    detector_version  VARCHAR       NOT NULL,
    key_id            VARCHAR       NOT NULL,
    at                TIMESTAMP_TZ  NOT NULL,
    ingested_at       TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    PRIMARY KEY (topic, "partition", "offset")
);

-- migration: 2 price_history_and_risk_features
-- See postgres.sql: one row per product, platform and price sold at.
CREATE TABLE IF NOT EXISTS price_history (
    platform        VARCHAR        NOT NULL,
    product_id      VARCHAR        NOT NULL,
    price           NUMBER(14, 2)  NOT NULL,
    currency        VARCHAR(3)     NOT NULL,
    first_seen_at   TIMESTAMP_TZ   NOT NULL,
    last_seen_at    TIMESTAMP_TZ   NOT NULL,
    first_order_id  VARCHAR        NOT NULL,
    updated_at      TIMESTAMP_TZ   NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    PRIMARY KEY (platform, product_id, price, currency)
);
ALTER TABLE risk_decisions ADD COLUMN IF NOT EXISTS decision_id VARCHAR;
ALTER TABLE risk_decisions ADD COLUMN IF NOT EXISTS features VARIANT;

-- migration: 3 sink_offsets_and_apply_procedure
-- Kafka positions kept with the data (the same table common/store/pg.c keeps in
-- PostgreSQL): the next offset of every partition a batch held, written in the
-- batch's transaction, so a restarted sink resumes exactly after what it wrote.
CREATE TABLE IF NOT EXISTS sink_offsets (
    sink           VARCHAR       NOT NULL,
    topic          VARCHAR       NOT NULL,
    "partition"    INTEGER       NOT NULL,
    next_offset    BIGINT        NOT NULL,
    updated_at     TIMESTAMP_TZ  NOT NULL DEFAULT CURRENT_TIMESTAMP(),
    PRIMARY KEY (sink, topic, "partition")
);
-- One batch = one request `CALL sensory_sink_apply(?, ?)` with two TEXT
-- bindings: the sink (consumer group) and the batch as JSON
--   {"offsets": [[topic, partition, next_offset], ...],
--    "<table>": [[column values in table order..., topic, partition, offset], ...]}
-- (every value a JSON string or null; the last three are the record's own Kafka
-- coordinates). The SQL API refuses bind variables in multi-statement requests
-- and explicit transactions need several statements, so the MERGE script lives
-- here: every MERGE and the sink_offsets update commit together or not at all.
-- A record below the stored next offset of its partition was written before
-- (by this sink or a zombie of it after a rebalance) and is skipped.
CREATE OR REPLACE PROCEDURE sensory_sink_apply(SINK VARCHAR, BATCH VARCHAR)
RETURNS VARCHAR
LANGUAGE SQL
EXECUTE AS CALLER
AS
$$
BEGIN
  BEGIN TRANSACTION;

  MERGE INTO orders t USING (
    SELECT r.value[0]::VARCHAR AS order_id, r.value[1]::VARCHAR AS platform,
           r.value[2]::VARCHAR AS merchant_id, r.value[3]::VARCHAR AS product_id,
           r.value[4]::VARCHAR AS product_name, r.value[5]::VARCHAR::INTEGER AS quantity,
           r.value[6]::VARCHAR::NUMBER(14, 2) AS price, r.value[7]::VARCHAR AS currency,
           r.value[8]::VARCHAR AS order_status, r.value[9]::VARCHAR AS payment_method,
           r.value[10]::VARCHAR AS shipping_city, r.value[11]::VARCHAR AS customer_phone_hash,
           r.value[12]::VARCHAR AS customer_email_hash, r.value[13]::VARCHAR AS customer_name_hash,
           TO_TIMESTAMP_TZ(r.value[14]::VARCHAR) AS event_time, r.value[15]::VARCHAR AS kafka_topic,
           r.value[16]::VARCHAR::INTEGER AS kafka_partition, r.value[17]::VARCHAR::BIGINT AS kafka_offset
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):orders)) r
    WHERE NOT EXISTS (SELECT 1 FROM sink_offsets o
                      WHERE o.sink = :SINK AND o.topic = r.value[18]::VARCHAR
                        AND o."partition" = r.value[19]::VARCHAR::INTEGER
                        AND r.value[20]::VARCHAR::BIGINT < o.next_offset)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY platform, order_id, product_id
                               ORDER BY event_time DESC, kafka_offset DESC) = 1
  ) s
  ON t.platform = s.platform AND t.order_id = s.order_id AND t.product_id = s.product_id
  WHEN MATCHED AND (s.event_time > t.event_time
                    OR (s.event_time = t.event_time AND s.kafka_offset >= t.kafka_offset)) THEN UPDATE SET
    merchant_id = s.merchant_id, product_name = s.product_name, quantity = s.quantity,
    price = s.price, currency = s.currency, order_status = s.order_status,
    payment_method = s.payment_method, shipping_city = s.shipping_city,
    customer_phone_hash = s.customer_phone_hash, customer_email_hash = s.customer_email_hash,
    customer_name_hash = s.customer_name_hash, event_time = s.event_time,
    ingested_at = CURRENT_TIMESTAMP(), kafka_topic = s.kafka_topic,
    kafka_partition = s.kafka_partition, kafka_offset = s.kafka_offset
  WHEN NOT MATCHED THEN INSERT (order_id, platform, merchant_id, product_id, product_name,
    quantity, price, currency, order_status, payment_method, shipping_city, customer_phone_hash,
    customer_email_hash, customer_name_hash, event_time, kafka_topic, kafka_partition, kafka_offset)
  VALUES (s.order_id, s.platform, s.merchant_id, s.product_id, s.product_name, s.quantity,
    s.price, s.currency, s.order_status, s.payment_method, s.shipping_city, s.customer_phone_hash,
    s.customer_email_hash, s.customer_name_hash, s.event_time, s.kafka_topic, s.kafka_partition,
    s.kafka_offset);

  MERGE INTO price_history t USING (
    SELECT r.value[1]::VARCHAR AS platform, r.value[3]::VARCHAR AS product_id,
           r.value[6]::VARCHAR::NUMBER(14, 2) AS price, r.value[7]::VARCHAR AS currency,
           MIN(TO_TIMESTAMP_TZ(r.value[14]::VARCHAR)) AS first_seen_at,
           MAX(TO_TIMESTAMP_TZ(r.value[14]::VARCHAR)) AS last_seen_at,
           MIN_BY(r.value[0]::VARCHAR, TO_TIMESTAMP_TZ(r.value[14]::VARCHAR)) AS first_order_id
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):orders)) r
    WHERE NOT EXISTS (SELECT 1 FROM sink_offsets o
                      WHERE o.sink = :SINK AND o.topic = r.value[18]::VARCHAR
                        AND o."partition" = r.value[19]::VARCHAR::INTEGER
                        AND r.value[20]::VARCHAR::BIGINT < o.next_offset)
    GROUP BY 1, 2, 3, 4
  ) s
  ON t.platform = s.platform AND t.product_id = s.product_id AND t.price = s.price
     AND t.currency = s.currency
  WHEN MATCHED THEN UPDATE SET
    first_order_id = IFF(s.first_seen_at < t.first_seen_at, s.first_order_id, t.first_order_id),
    first_seen_at = LEAST(t.first_seen_at, s.first_seen_at),
    last_seen_at = GREATEST(t.last_seen_at, s.last_seen_at), updated_at = CURRENT_TIMESTAMP()
  WHEN NOT MATCHED THEN INSERT (platform, product_id, price, currency, first_seen_at,
    last_seen_at, first_order_id)
  VALUES (s.platform, s.product_id, s.price, s.currency, s.first_seen_at, s.last_seen_at,
    s.first_order_id);

  MERGE INTO weather_observations t USING (
    SELECT r.value[0]::VARCHAR AS city, TO_TIMESTAMP_TZ(r.value[1]::VARCHAR) AS observed_at,
           r.value[2]::VARCHAR::FLOAT AS temperature, r.value[3]::VARCHAR AS condition,
           r.value[4]::VARCHAR::FLOAT AS humidity, r.value[5]::VARCHAR::FLOAT AS wind_speed,
           r.value[6]::VARCHAR::BOOLEAN AS is_extreme_weather, r.value[7]::VARCHAR AS kafka_topic,
           r.value[8]::VARCHAR::INTEGER AS kafka_partition, r.value[9]::VARCHAR::BIGINT AS kafka_offset
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):weather_observations)) r
    WHERE NOT EXISTS (SELECT 1 FROM sink_offsets o
                      WHERE o.sink = :SINK AND o.topic = r.value[10]::VARCHAR
                        AND o."partition" = r.value[11]::VARCHAR::INTEGER
                        AND r.value[12]::VARCHAR::BIGINT < o.next_offset)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY city, observed_at ORDER BY kafka_offset DESC) = 1
  ) s
  ON t.city = s.city AND t.observed_at = s.observed_at
  WHEN MATCHED THEN UPDATE SET
    temperature = s.temperature, condition = s.condition, humidity = s.humidity,
    wind_speed = s.wind_speed, is_extreme_weather = s.is_extreme_weather,
    ingested_at = CURRENT_TIMESTAMP(), kafka_topic = s.kafka_topic,
    kafka_partition = s.kafka_partition, kafka_offset = s.kafka_offset
  WHEN NOT MATCHED THEN INSERT (city, observed_at, temperature, condition, humidity, wind_speed,
    is_extreme_weather, kafka_topic, kafka_partition, kafka_offset)
  VALUES (s.city, s.observed_at, s.temperature, s.condition, s.humidity, s.wind_speed,
    s.is_extreme_weather, s.kafka_topic, s.kafka_partition, s.kafka_offset);

  MERGE INTO risk_decisions t USING (
    SELECT r.value[0]::VARCHAR AS order_id, r.value[1]::VARCHAR::SMALLINT AS score,
           r.value[2]::VARCHAR AS decision, PARSE_JSON(r.value[3]::VARCHAR) AS reasons,
           r.value[4]::VARCHAR AS rules_version, TO_TIMESTAMP_TZ(r.value[5]::VARCHAR) AS decided_at,
           r.value[6]::VARCHAR AS decision_id, PARSE_JSON(r.value[7]::VARCHAR) AS features,
           r.value[8]::VARCHAR AS kafka_topic, r.value[9]::VARCHAR::INTEGER AS kafka_partition,
           r.value[10]::VARCHAR::BIGINT AS kafka_offset
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):risk_decisions)) r
    WHERE NOT EXISTS (SELECT 1 FROM sink_offsets o
                      WHERE o.sink = :SINK AND o.topic = r.value[11]::VARCHAR
                        AND o."partition" = r.value[12]::VARCHAR::INTEGER
                        AND r.value[13]::VARCHAR::BIGINT < o.next_offset)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id, rules_version
                               ORDER BY decided_at DESC, kafka_offset DESC) = 1
  ) s
  ON t.order_id = s.order_id AND t.rules_version = s.rules_version
  WHEN MATCHED AND s.decided_at >= t.decided_at THEN UPDATE SET
    score = s.score, decision = s.decision, reasons = s.reasons, decided_at = s.decided_at,
    decision_id = s.decision_id, features = s.features, ingested_at = CURRENT_TIMESTAMP(),
    kafka_topic = s.kafka_topic, kafka_partition = s.kafka_partition, kafka_offset = s.kafka_offset
  WHEN NOT MATCHED THEN INSERT (order_id, score, decision, reasons, rules_version, decided_at,
    decision_id, features, kafka_topic, kafka_partition, kafka_offset)
  VALUES (s.order_id, s.score, s.decision, s.reasons, s.rules_version, s.decided_at,
    s.decision_id, s.features, s.kafka_topic, s.kafka_partition, s.kafka_offset);

  MERGE INTO privacy_audit t USING (
    SELECT r.value[0]::VARCHAR AS topic, r.value[1]::VARCHAR::INTEGER AS "partition",
           r.value[2]::VARCHAR::BIGINT AS "offset", PARSE_JSON(r.value[3]::VARCHAR) AS counts,
           r.value[4]::VARCHAR AS detector_version, r.value[5]::VARCHAR AS key_id,
           TO_TIMESTAMP_TZ(r.value[6]::VARCHAR) AS at
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):privacy_audit)) r
    WHERE NOT EXISTS (SELECT 1 FROM sink_offsets o
                      WHERE o.sink = :SINK AND o.topic = r.value[7]::VARCHAR
                        AND o."partition" = r.value[8]::VARCHAR::INTEGER
                        AND r.value[9]::VARCHAR::BIGINT < o.next_offset)
    QUALIFY ROW_NUMBER() OVER (PARTITION BY topic, "partition", "offset"
                               ORDER BY r.value[9]::VARCHAR::BIGINT DESC) = 1
  ) s
  ON t.topic = s.topic AND t."partition" = s."partition" AND t."offset" = s."offset"
  WHEN MATCHED THEN UPDATE SET
    counts = s.counts, detector_version = s.detector_version, key_id = s.key_id, at = s.at,
    ingested_at = CURRENT_TIMESTAMP()
  WHEN NOT MATCHED THEN INSERT (topic, "partition", "offset", counts, detector_version, key_id, at)
  VALUES (s.topic, s."partition", s."offset", s.counts, s.detector_version, s.key_id, s.at);

  MERGE INTO sink_offsets t USING (
    SELECT :SINK AS sink, o.value[0]::VARCHAR AS topic, o.value[1]::VARCHAR::INTEGER AS "partition",
           o.value[2]::VARCHAR::BIGINT AS next_offset
    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(:BATCH):offsets)) o
  ) s
  ON t.sink = s.sink AND t.topic = s.topic AND t."partition" = s."partition"
  WHEN MATCHED AND s.next_offset > t.next_offset THEN UPDATE SET
    next_offset = s.next_offset, updated_at = CURRENT_TIMESTAMP()
  WHEN NOT MATCHED THEN INSERT (sink, topic, "partition", next_offset)
  VALUES (s.sink, s.topic, s."partition", s.next_offset);

  COMMIT;
  RETURN 'ok';
EXCEPTION
  WHEN OTHER THEN
    ROLLBACK;
    RAISE;
END;
$$;
