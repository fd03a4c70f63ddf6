-- Working a lead: pipeline timestamps on the lead, its follow-ups, and the history of its stage changes.

-- The lead row carries what its work lists sort and filter on, so a list never joins the follow-ups.
ALTER TABLE leads
    ADD COLUMN stage_changed_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN next_follow_up_at timestamptz,          -- planned by the latest follow-up; NULL once closed
    ADD COLUMN last_follow_up_at timestamptz,
    ADD COLUMN follow_up_count   integer     NOT NULL DEFAULT 0 CHECK (follow_up_count >= 0);
UPDATE leads SET stage_changed_at = created_at;

-- Lists page newest first by (created_at, id): the id breaks ties so no lead is skipped or shown twice.
-- The stage is a filter on these, not a key: there are five and most lists ask for all of them.
DROP INDEX leads_assignee_idx;
DROP INDEX leads_store_idx;
CREATE INDEX leads_brand_page_idx ON leads (brand_id, created_at DESC, id DESC);
CREATE INDEX leads_assignee_page_idx ON leads (brand_id, assignee_id, created_at DESC, id DESC);
CREATE INDEX leads_store_page_idx ON leads (brand_id, store_id, created_at DESC, id DESC);

CREATE TABLE lead_follow_ups (
    brand_id          text        NOT NULL,
    id                text        NOT NULL,
    lead_id           text        NOT NULL,
    author_id         text        NOT NULL,           -- staff id
    note              text        NOT NULL,
    channel           text        NOT NULL
                      CHECK (channel IN ('phone', 'wechat', 'sms', 'email', 'visit', 'other')),
    next_follow_up_at timestamptz,
    -- The client's Idempotency-Key and a fingerprint of the request: a retry returns this row, the same key
    -- with other content is refused. Unique per brand, as a key names one request whatever its lead.
    idempotency_key   text,
    fingerprint       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, lead_id) REFERENCES leads (brand_id, id)
);
CREATE INDEX lead_follow_ups_lead_idx ON lead_follow_ups (brand_id, lead_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX lead_follow_ups_key_idx ON lead_follow_ups (brand_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Every stage change, who made it and why: the funnel's durations (new → contacted, ...) come from here.
CREATE TABLE lead_stage_changes (
    brand_id      text        NOT NULL,
    lead_id       text        NOT NULL,
    seq           bigint      GENERATED ALWAYS AS IDENTITY,
    from_stage    text        NOT NULL,
    to_stage      text        NOT NULL,
    changed_by    text        NOT NULL,               -- staff id
    reason        text        NOT NULL DEFAULT '',
    follow_up_id  text,                               -- set when a follow-up made the change
    changed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, lead_id, seq),
    FOREIGN KEY (brand_id, lead_id) REFERENCES leads (brand_id, id)
);
