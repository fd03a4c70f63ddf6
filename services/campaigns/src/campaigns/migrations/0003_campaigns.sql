-- Campaigns, their frozen audiences (one row per member: pending until sent, failed or suppressed), and the
-- orders attributed to them.

CREATE TABLE campaigns (
    id                   text        PRIMARY KEY,
    brand_id             text        NOT NULL,
    name                 text        NOT NULL,
    segment_id           text        NOT NULL REFERENCES segments (id),
    channel              text        NOT NULL,
    content              jsonb       NOT NULL,
    status               text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'completed')),
    send_at              timestamptz,
    attribution_days     integer     NOT NULL CHECK (attribution_days BETWEEN 1 AND 90),
    cost_per_message_fen bigint      NOT NULL CHECK (cost_per_message_fen >= 0),
    store_ids            text[]      NOT NULL DEFAULT '{}',
    created_by           text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    activated_at         timestamptz,
    activated_by         text,
    audience             bigint      NOT NULL DEFAULT 0
);
CREATE INDEX campaigns_brand_idx ON campaigns (brand_id, created_at DESC, id DESC);

CREATE TABLE campaign_recipients (
    campaign_id         text        NOT NULL REFERENCES campaigns (id),
    member_id           text        NOT NULL,
    brand_id            text        NOT NULL,
    status              text        NOT NULL CHECK (status IN
                            ('pending', 'sent', 'failed', 'suppressed_no_consent', 'suppressed_frequency_cap')),
    attempts            integer     NOT NULL DEFAULT 0,
    sent_at             timestamptz,
    provider_message_id text,
    detail              text,
    PRIMARY KEY (campaign_id, member_id)
);
-- Frequency caps and attribution look up what a member was sent, and when.
CREATE INDEX campaign_recipients_sent_idx ON campaign_recipients (brand_id, member_id, sent_at)
    WHERE status = 'sent';
-- "Is anything of this campaign still pending?" after each message, without scanning its audience.
CREATE INDEX campaign_recipients_pending_idx ON campaign_recipients (campaign_id) WHERE status = 'pending';

-- Last touch: an order counts for the latest campaign message its member got within that campaign's window.
CREATE TABLE campaign_conversions (
    campaign_id text        NOT NULL REFERENCES campaigns (id),
    brand_id    text        NOT NULL,
    order_id    text        NOT NULL,
    member_id   text        NOT NULL,
    revenue_fen bigint      NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (brand_id, order_id)
);
CREATE INDEX campaign_conversions_campaign_idx ON campaign_conversions (campaign_id);
