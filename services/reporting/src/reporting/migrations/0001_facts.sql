-- Fact tables and rollups of the reporting service, fed by members and loyalty events.

-- Brand timezones: from BrandCreated, or fetched from the members service when an order is first.
CREATE TABLE brands (
    brand_id    text        PRIMARY KEY,
    timezone    text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per order. local_date is computed once, at insert, in the brand's timezone, so every report
-- groups by the same calendar day the store saw.
CREATE TABLE order_facts (
    brand_id    text        NOT NULL,
    order_id    text        NOT NULL,
    store_id    text        NOT NULL,
    member_id   text,                               -- NULL: the buyer was not a member
    occurred_at timestamptz NOT NULL,
    local_date  date        NOT NULL,
    total_fen   bigint      NOT NULL,
    PRIMARY KEY (brand_id, order_id)
);
-- Buyers and repeat buyers of a range (optionally of one store).
CREATE INDEX order_facts_buyers_idx ON order_facts (brand_id, local_date, member_id)
    WHERE member_id IS NOT NULL;
CREATE INDEX order_facts_store_idx ON order_facts (brand_id, store_id, local_date)
    WHERE member_id IS NOT NULL;

-- Orders and revenue per store and day, updated in the transaction that inserts the order's fact.
CREATE TABLE daily_store_rollup (
    brand_id    text    NOT NULL,
    store_id    text    NOT NULL,
    local_date  date    NOT NULL,
    orders      bigint  NOT NULL,
    revenue_fen bigint  NOT NULL,
    PRIMARY KEY (brand_id, local_date, store_id)
);

-- Registrations, for new_members.
CREATE TABLE member_facts (
    brand_id              text        NOT NULL,
    member_id             text        NOT NULL,
    store_id              text,
    registered_at         timestamptz NOT NULL,
    registered_local_date date        NOT NULL,
    PRIMARY KEY (brand_id, member_id)
);
CREATE INDEX member_facts_registered_idx ON member_facts (brand_id, registered_local_date);
