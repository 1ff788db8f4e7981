-- Soft delete: the data API hides rows with deleted_at set; a purge removes them for
-- good. NULL for every row the writer stores, so adding it rewrites nothing.
ALTER TABLE culex.message_store ADD COLUMN deleted_at timestamptz;

CREATE OR REPLACE VIEW culex.messages AS
SELECT m.id, t.name AS topic, m.payload, m.payload_json, m.qos, m.retain, m.client_id,
       m.username, b.name AS broker, m.seq, m.received_at
FROM culex.message_store m
JOIN culex.topics t ON t.id = m.topic_id
JOIN culex.brokers b ON b.id = m.broker_id
WHERE m.deleted_at IS NULL;

-- Bearer tokens of the HTTP API. Only a SHA-256 of each token is kept: tokens are 256
-- random bits, so a fast hash is as safe as a slow one and costs nothing per request.
CREATE TABLE culex.api_tokens (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL,
    token_sha256  bytea NOT NULL UNIQUE,
    scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin']),
    topic_filters text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
-- A name identifies one live token; revoked ones keep theirs for the record.
CREATE UNIQUE INDEX api_tokens_live_name ON culex.api_tokens (name) WHERE revoked_at IS NULL;
