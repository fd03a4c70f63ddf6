-- Everything a segment rule can ask about a member (API.md), the stores' locations and the brands' timezones,
-- and the saved segments themselves.

-- Profile and loyalty facts. *_as_of hold the time of the event that last set a group of columns, so an
-- older event delivered late never overwrites a newer state.
ALTER TABLE audience_members
    ADD COLUMN tags           text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN attributes     jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN profile_as_of  timestamptz,
    ADD COLUMN tier           text,
    ADD COLUMN tier_as_of     timestamptz,
    ADD COLUMN points_balance bigint      NOT NULL DEFAULT 0,
    ADD COLUMN points_as_of   timestamptz,
    -- PIPL erasure: the row keeps anonymous purchase counts, loses the profile, and never selects again.
    ADD COLUMN erased_at      timestamptz;

UPDATE audience_members SET profile_as_of = registered_at WHERE registered_at IS NOT NULL;

CREATE INDEX audience_members_tags_idx ON audience_members USING gin (tags);

-- Spend per member and day (in the brand's timezone), for rolling windows such as spend_90d_fen. Refunds
-- count on the day they happen.
CREATE TABLE audience_daily_spend (
    brand_id  text   NOT NULL,
    member_id text   NOT NULL,
    day       date   NOT NULL,
    spend_fen bigint NOT NULL,
    PRIMARY KEY (brand_id, member_id, day)
);

CREATE TABLE audience_stores (
    brand_id text NOT NULL,
    store_id text NOT NULL,
    lat      double precision,
    lng      double precision,
    PRIMARY KEY (brand_id, store_id)
);

CREATE TABLE audience_brands (
    brand_id text PRIMARY KEY,
    timezone text NOT NULL
);

CREATE TABLE segments (
    id           text        PRIMARY KEY,
    brand_id     text        NOT NULL,
    name         text        NOT NULL,
    rule         jsonb       NOT NULL,
    store_ids    text[]      NOT NULL DEFAULT '{}',
    created_by   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    member_count bigint      NOT NULL DEFAULT 0
);
CREATE INDEX segments_brand_idx ON segments (brand_id, created_at DESC, id DESC);

-- The date of a birthday in a year; 29 February falls on 28 February in common years (as in Python).
CREATE FUNCTION birthday_in_year(b date, y integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT LEAST(make_date(y, extract(month FROM b)::int, 1) + (extract(day FROM b)::int - 1),
                 (make_date(y, extract(month FROM b)::int, 1) + interval '1 month - 1 day')::date)
$$;

-- Days from `today` to the next birthday, 0 on the day itself.
CREATE FUNCTION days_until_birthday(b date, today date) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN birthday_in_year(b, extract(year FROM today)::int) >= today
                THEN birthday_in_year(b, extract(year FROM today)::int) - today
                ELSE birthday_in_year(b, extract(year FROM today)::int + 1) - today END
$$;

-- Great-circle distance in kilometres (the same haversine formula as the Python side).
CREATE FUNCTION distance_km(lat1 double precision, lng1 double precision,
                            lat2 double precision, lng2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT 2 * 6371.0088 * asin(sqrt(
        power(sin((radians(lat2) - radians(lat1)) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * power(sin((radians(lng2) - radians(lng1)) / 2), 2)))
$$;
