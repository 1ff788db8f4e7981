-- Rules: when a stored message's topic matches `topic_filter` and its payload meets
-- `condition` (the data API's where/contains/like, as JSON), each action in `actions`
-- becomes a delivery. Shared by every broker on this database.
CREATE TABLE culex.rules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    enabled      boolean NOT NULL DEFAULT true,
    topic_filter text NOT NULL,
    condition    jsonb NOT NULL DEFAULT '{}',
    actions      jsonb NOT NULL,
    secret       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Bumped by every change to culex.rules, however it is made; brokers poll it to know
-- when to reload their rules.
CREATE TABLE culex.rules_generation (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO culex.rules_generation VALUES (true, 1);

CREATE FUNCTION culex.bump_rules_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE culex.rules_generation SET generation = generation + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON culex.rules
    FOR EACH STATEMENT EXECUTE FUNCTION culex.bump_rules_generation();

-- The durable outbox of webhooks, republishes, e-mail and SMS. `request` holds
-- everything the send needs, so a delivery outlives its rule and its message.
-- pending: waiting for next_attempt_at; sending: claimed by a broker until lease_until
-- (a crashed broker's claims expire and are taken again); delivered; dead: gave up.
CREATE TABLE culex.deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('webhook', 'republish', 'email', 'sms')),
    rule_id         bigint REFERENCES culex.rules (id) ON DELETE SET NULL,
    rule_name       text,
    message_id      bigint,
    target          text NOT NULL,
    request         text NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
-- What is due next; only unfinished deliveries are in it.
CREATE INDEX deliveries_due ON culex.deliveries (next_attempt_at)
    WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_rule ON culex.deliveries (rule_id, id);
CREATE INDEX deliveries_state ON culex.deliveries (state, id);
