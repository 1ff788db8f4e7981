-- Brokers that have written here; message rows refer to them by a small id.
CREATE TABLE culex.brokers (
    id         smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    first_seen timestamptz NOT NULL DEFAULT now()
);

-- Every topic ever stored. Message rows carry the 4-byte id instead of the name: a
-- topic can be 65535 bytes, which no btree entry can hold, and an integer key keeps
-- the per-message index small and cheap to insert into.
CREATE TABLE culex.topics (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);
-- Uniqueness on a digest (any length fits), lookup by name through a hash index.
-- text::bytea parses bytea escapes, so backslashes are doubled to hash the plain bytes.
CREATE UNIQUE INDEX topics_name_digest ON culex.topics (sha256(replace(name, '\', '\\')::bytea));
CREATE INDEX topics_name ON culex.topics USING hash (name);

-- One row per stored MQTT message. Query it through the culex.messages view.
-- The id sequence hands out 1000 values at a time: one sequence access per row costs
-- about a tenth of ingest throughput. Ids still rise in arrival order per broker.
CREATE TABLE culex.message_store (
    id           bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000) PRIMARY KEY,
    topic_id     integer NOT NULL,
    payload      bytea NOT NULL,
    payload_json jsonb,
    qos          smallint NOT NULL,
    retain       boolean NOT NULL,
    client_id    text NOT NULL,
    username     text,
    broker_id    smallint NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL
);
-- "Newest N of a topic" and "a topic in a time window"; id breaks ties for paging.
-- It also finds a message by (topic_id, received_at, broker_id, seq), which is how the
-- writer recognises a batch whose commit outcome was unknown. A unique index on
-- (received_at, broker_id, seq) would do that too, at a quarter of ingest throughput.
CREATE INDEX message_store_topic_time ON culex.message_store (topic_id, received_at, id);

CREATE VIEW culex.messages AS
SELECT m.id, t.name AS topic, m.payload, m.payload_json, m.qos, m.retain, m.client_id,
       m.username, b.name AS broker, m.seq, m.received_at
FROM culex.message_store m
JOIN culex.topics t ON t.id = m.topic_id
JOIN culex.brokers b ON b.id = m.broker_id;
