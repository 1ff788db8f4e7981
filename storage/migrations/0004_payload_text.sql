-- The payload as text where it is text: valid UTF-8 without a NUL byte (which text
-- cannot hold), else NULL. convert_from is PostgreSQL's own check, but it raises
-- rather than answers (one binary row used to fail a whole query), so its error is
-- caught here. Only a query that selects payload_text pays for it.
CREATE FUNCTION culex.payload_text(payload bytea) RETURNS text
    LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
    RETURN convert_from(payload, 'UTF8');
EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
    RETURN NULL;
END $$;

CREATE OR REPLACE VIEW culex.messages AS
SELECT m.id, t.name AS topic, m.payload, m.payload_json, m.qos, m.retain, m.client_id,
       m.username, b.name AS broker, m.seq, m.received_at,
       culex.payload_text(m.payload) AS payload_text
FROM culex.message_store m
JOIN culex.topics t ON t.id = m.topic_id
JOIN culex.brokers b ON b.id = m.broker_id
WHERE m.deleted_at IS NULL;
