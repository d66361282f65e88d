-- Sensory warehouse tables, Snowflake dialect (used when the snowflake-sink is
-- configured for the SQL API). Same tables and columns as postgres.sql.
-- Snowflake does not enforce PRIMARY KEY or CHECK constraints: idempotent
-- replays come from the sink's MERGE on these keys, not from the table.
-- Idempotent DDL: safe to run on every deploy.

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
