-- Platform tables every PostgreSQL-backed service gets: transactional outbox, consumer inbox and
-- dead letters, claimed jobs. schema_migrations itself is created by crm_common.migrations before
-- any file runs (it has to exist to record this file).

-- Events written in the business transaction, published by OutboxRelay after commit.
CREATE TABLE outbox (
    seq           bigserial   PRIMARY KEY,          -- insertion order = publish order
    event_id      text        NOT NULL UNIQUE,      -- ce-id and Nats-Msg-Id
    source        text        NOT NULL,
    event_type    text        NOT NULL,
    brand_id      text        NOT NULL,
    envelope      bytea       NOT NULL,             -- serialized crm.common.v1.EventEnvelope
    trace         jsonb       NOT NULL DEFAULT '{}', -- W3C trace carrier captured at add time
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (source, seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Inbox: a row per (consumer, event) committed with the handler's effects, so a redelivery is a no-op.
CREATE TABLE processed_events (
    consumer      text        NOT NULL,
    event_id      text        NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer gave up on after max_deliver (ids, type and error only: never the payload).
CREATE TABLE dead_letters (
    consumer      text        NOT NULL,
    event_id      text        NOT NULL,
    event_type    text        NOT NULL,
    error         text        NOT NULL,
    deliveries    integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Timers: claimed with FOR UPDATE SKIP LOCKED plus a lease, so replicas never run one concurrently.
CREATE TABLE jobs (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL,
    key           text,                             -- idempotent scheduling per (kind, key)
    run_at        timestamptz NOT NULL,
    payload       jsonb       NOT NULL DEFAULT '{}',
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts      integer     NOT NULL DEFAULT 0,
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state = 'pending';
