-- Leads and the per-store round-robin cursor of default assignment.

CREATE TABLE leads (
    brand_id     text        NOT NULL,
    id           text        NOT NULL,
    source       text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    phone        text        NOT NULL,               -- E.164
    interest     text        NOT NULL DEFAULT '',
    city         text        NOT NULL DEFAULT '',    -- as given, kept to explain the assignment
    lat          double precision,
    lng          double precision,
    store_id     text        NOT NULL,
    assignee_id  text        NOT NULL DEFAULT '',    -- '' when the store had nobody to take it
    stage        text        NOT NULL DEFAULT 'new'
                 CHECK (stage IN ('new', 'contacted', 'qualified', 'won', 'lost')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id)
);
-- The work lists of the API: a person's leads, a store's leads, by stage, newest first.
CREATE INDEX leads_assignee_idx ON leads (brand_id, assignee_id, stage, created_at DESC);
CREATE INDEX leads_store_idx ON leads (brand_id, store_id, stage, created_at DESC);

-- One row per store: the index (into the store's candidates ordered by id) given the last lead.
-- Locked FOR UPDATE in the lead's transaction, so concurrent leads take turns instead of colliding.
CREATE TABLE store_assignment_cursor (
    brand_id    text        NOT NULL,
    store_id    text        NOT NULL,
    last_index  integer     NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, store_id)
);
