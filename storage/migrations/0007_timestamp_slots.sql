-- The periodic timestamp (timestamp_interval) of brokers sharing this database: one row
-- per topic holding the start of the last interval some broker claimed. A broker
-- publishes an interval's timestamp only when its claim moved slot_ms forward, so the
-- topic gets one message per interval however many brokers run.
CREATE TABLE culex.timestamp_slots (
    topic text PRIMARY KEY,
    slot_ms bigint NOT NULL,
    broker text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
