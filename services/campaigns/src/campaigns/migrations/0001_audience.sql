-- The audience store: one row of facts per member, built from members and loyalty events.
-- A row can be created by an order before the member's registration arrives, so every profile
-- column is nullable and registration fills them in later.
CREATE TABLE audience_members (
    brand_id          text        NOT NULL,
    member_id         text        NOT NULL,
    store_id          text,
    guide_id          text,
    gender            text,
    birthday          date,
    registered_at     timestamptz,
    consents          jsonb       NOT NULL DEFAULT '{}',
    order_count       bigint      NOT NULL DEFAULT 0 CHECK (order_count >= 0),
    total_spend_fen   bigint      NOT NULL DEFAULT 0,
    last_purchase_at  timestamptz,
    first_purchase_at timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id)
);

-- Segments filter by owning store within a brand (store managers see only their stores).
CREATE INDEX audience_members_store_idx ON audience_members (brand_id, store_id);
