-- Sensory warehouse tables, PostgreSQL dialect (the local default sink).
-- Same tables and columns as snowflake.sql; keep the two files in step (a unit
-- test compares them, and both with the sink's row mapping).
--
-- This file is the one copy of the schema. `snowflake-sink --init-schema`
-- embeds it and applies it as versioned migrations: each "-- migration: N name"
-- line starts migration N, applied once and recorded in schema_migrations
-- (component "warehouse"); the lines before the first marker are prepended to
-- every migration. Every statement is idempotent as well, so the whole file can
-- also be applied with psql (deploy/lib.sh start_postgres does).
-- Never edit an applied migration: add a new one at the end.
--
-- Primary keys are chosen so a replayed Kafka message upserts the same row
-- instead of adding a duplicate. No raw PII: customer identifiers arrive as
-- keyed hashes ("k1:<hex>").
SET client_min_messages = warning; -- keep re-runs quiet about "already exists"

-- migration: 1 warehouse_tables
CREATE TABLE IF NOT EXISTS orders (
    order_id             TEXT           NOT NULL,
    platform             TEXT           NOT NULL CHECK (platform IN ('shopify', 'daraz')),
    merchant_id          TEXT           NOT NULL,
    product_id           TEXT           NOT NULL,
    product_name         TEXT           NOT NULL,
    quantity             INTEGER        NOT NULL CHECK (quantity > 0),
    price                NUMERIC(14, 2) NOT NULL CHECK (price > 0),
    currency             CHAR(3)        NOT NULL DEFAULT 'BDT',
    order_status         TEXT           NOT NULL,
    payment_method       TEXT           NOT NULL CHECK (payment_method IN ('cod', 'prepaid')),
    shipping_city        TEXT,
    customer_phone_hash  TEXT,
    customer_email_hash  TEXT,
    customer_name_hash   TEXT,
    event_time           TIMESTAMPTZ    NOT NULL,
    ingested_at          TIMESTAMPTZ    NOT NULL DEFAULT now(),
    kafka_topic          TEXT           NOT NULL,
    kafka_partition      INTEGER        NOT NULL,
    kafka_offset         BIGINT         NOT NULL,
    PRIMARY KEY (platform, order_id, product_id)
);
-- risk-svc reads order history per customer (velocity, past cancellations).
CREATE INDEX IF NOT EXISTS orders_phone_time_idx ON orders (customer_phone_hash, event_time);
CREATE INDEX IF NOT EXISTS orders_event_time_idx ON orders (event_time);

CREATE TABLE IF NOT EXISTS weather_observations (
    city                TEXT             NOT NULL,
    observed_at         TIMESTAMPTZ      NOT NULL,
    temperature         DOUBLE PRECISION NOT NULL,
    condition           TEXT             NOT NULL,
    humidity            DOUBLE PRECISION NOT NULL CHECK (humidity BETWEEN 0 AND 100),
    wind_speed          DOUBLE PRECISION NOT NULL,
    is_extreme_weather  BOOLEAN          NOT NULL DEFAULT false,
    ingested_at         TIMESTAMPTZ      NOT NULL DEFAULT now(),
    kafka_topic         TEXT             NOT NULL,
    kafka_partition     INTEGER          NOT NULL,
    kafka_offset        BIGINT           NOT NULL,
    PRIMARY KEY (city, observed_at)
);

CREATE TABLE IF NOT EXISTS risk_decisions (
    order_id         TEXT        NOT NULL,
    score            SMALLINT    NOT NULL CHECK (score BETWEEN 0 AND 100),
    decision         TEXT        NOT NULL CHECK (decision IN ('accept', 'advance_payment_required')),
    reasons          JSONB       NOT NULL DEFAULT '[]'::jsonb,
    rules_version    TEXT        NOT NULL,
    decided_at       TIMESTAMPTZ NOT NULL,
    ingested_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    kafka_topic      TEXT        NOT NULL,
    kafka_partition  INTEGER     NOT NULL,
    kafka_offset     BIGINT      NOT NULL,
    -- One decision per order and rules version: re-scoring under new rules
    -- keeps the history, a replay of the same decision overwrites itself.
    PRIMARY KEY (order_id, rules_version)
);

CREATE TABLE IF NOT EXISTS privacy_audit (
    topic             TEXT        NOT NULL,
    "partition"       INTEGER     NOT NULL,
    "offset"          BIGINT      NOT NULL,
    counts            JSONB       NOT NULL DEFAULT '{}'::jsonb, -- e.g. {"phone":2,"email":1}
    detector_version  TEXT        NOT NULL,
    key_id            TEXT        NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    ingested_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, "partition", "offset")
);

-- migration: 2 price_history_and_risk_features
-- One row per product, platform and price it was sold at: when that price was
-- first and last seen in the orders stream (order event times). Derived by the
-- sink from each batch of orders; independent of arrival order and replays.
CREATE TABLE IF NOT EXISTS price_history (
    platform        TEXT           NOT NULL,
    product_id      TEXT           NOT NULL,
    price           NUMERIC(14, 2) NOT NULL,
    currency        CHAR(3)        NOT NULL,
    first_seen_at   TIMESTAMPTZ    NOT NULL,
    last_seen_at    TIMESTAMPTZ    NOT NULL,
    first_order_id  TEXT           NOT NULL,
    updated_at      TIMESTAMPTZ    NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, product_id, price, currency)
);
-- risk-svc's decision id and the feature snapshot it scored (absent in older
-- decisions: NULL).
ALTER TABLE risk_decisions ADD COLUMN IF NOT EXISTS decision_id TEXT;
ALTER TABLE risk_decisions ADD COLUMN IF NOT EXISTS features JSONB;
