-- Automated journeys: a trigger rule saved as a segment, run every day as a campaign of its own.
CREATE TABLE journeys (
    id                   text        PRIMARY KEY,
    brand_id             text        NOT NULL,
    name                 text        NOT NULL,
    trigger              text        NOT NULL CHECK (trigger IN ('birthday', 'dormant', 'repurchase')),
    days                 integer     NOT NULL,
    extra_rule           jsonb,
    segment_id           text        NOT NULL REFERENCES segments (id),
    channel              text        NOT NULL,
    content              jsonb       NOT NULL,
    status               text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    attribution_days     integer     NOT NULL,
    cost_per_message_fen bigint      NOT NULL,
    store_ids            text[]      NOT NULL DEFAULT '{}',
    created_by           text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    next_run_at          timestamptz
);
CREATE INDEX journeys_brand_idx ON journeys (brand_id, created_at DESC, id DESC);

-- A journey's run of one brand-local day is one campaign; the key makes a re-run of that day find it.
ALTER TABLE campaigns
    ADD COLUMN journey_id text REFERENCES journeys (id),
    ADD COLUMN run_date   date;
CREATE UNIQUE INDEX campaigns_journey_run_idx ON campaigns (journey_id, run_date) WHERE journey_id IS NOT NULL;
