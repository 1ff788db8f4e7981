-- culex.message_store becomes range-partitioned on received_at (docs/storage.md,
-- "Partitions and retention"). The table as it was is kept as one partition, from the
-- beginning of time to the next hour, behind a validated CHECK constraint, so no row
-- is rewritten and no id changes.
--
-- Message ids are time-ordered: id = (hour since the Unix epoch) * 2^33 + n, with n
-- from a per-hour counter, so an id names the hour its row lives in and a read by id
-- touches one partition. Ids stay below 2^53 until 2089, so JavaScript reads them
-- exactly. Ids below 2^33 are the ones stored before this migration.

-- Writers reserve blocks of n from here, in a statement of their own, so that no
-- transaction holds an hour's row for long.
CREATE TABLE culex.message_id_blocks (
    hour       integer PRIMARY KEY,
    next_value bigint NOT NULL
);

-- The first of `how_many` fresh ids for rows received in `hour`.
CREATE FUNCTION culex.reserve_message_ids(for_hour integer, how_many integer) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    last_value bigint;
BEGIN
    IF for_hour < 1 OR how_many < 1 THEN
        RAISE EXCEPTION 'message ids exist for rows received from 1970-01-01 01:00 UTC on'
            USING ERRCODE = 'data_exception';
    END IF;
    INSERT INTO culex.message_id_blocks AS b VALUES (for_hour, how_many + 1)
    ON CONFLICT ON CONSTRAINT message_id_blocks_pkey
        DO UPDATE SET next_value = b.next_value + how_many
    RETURNING b.next_value - 1 INTO last_value;
    IF last_value >= 8589934592 THEN
        RAISE EXCEPTION 'hour % has used up its 2^33 message ids', for_hour
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    RETURN for_hour::bigint * 8589934592 + last_value - how_many + 1;
END $$;

CREATE FUNCTION culex.new_message_id(received_at timestamptz) RETURNS bigint
    LANGUAGE sql VOLATILE
    RETURN culex.reserve_message_ids(floor(extract(epoch FROM received_at) / 3600)::integer, 1);

-- The start of the hour an id names (see message_id_until). IMMUTABLE and inlined, so
-- the planner prunes partitions with it.
CREATE FUNCTION culex.message_id_from(id bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN id < 8589934592 THEN timestamptz '-infinity'
                ELSE to_timestamp((id >> 33) * 3600) END;

CREATE TABLE culex.message_store_new (
    id           bigint NOT NULL,
    topic_id     integer NOT NULL,
    payload      bytea NOT NULL,
    payload_json jsonb,
    qos          smallint NOT NULL,
    retain       boolean NOT NULL,
    client_id    text NOT NULL,
    username     text,
    broker_id    smallint NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    deleted_at   timestamptz,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

-- A writer that does not give ids (a Culex broker older than this migration) is refused
-- with a retryable error rather than storing rows no read by id can find: it keeps its
-- messages (in memory or its spool) until it is upgraded.
CREATE FUNCTION culex.refuse_message_without_id() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'culex.message_store needs ids from the writer since schema 0006: upgrade '
        'this Culex broker' USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;
ALTER TABLE culex.message_store_new
    ALTER COLUMN id SET DEFAULT culex.refuse_message_without_id();

-- Creates the partition that holds `at`: `width_hours` wide and aligned to UTC
-- midnight of 2000-01-01 (so to whole days for day widths), clipped to its neighbours
-- when the width changed since they were made. Returns the new partition's name, or
-- NULL when `at` already has one. Serialised by an advisory lock, so brokers racing
-- for the same partition do not fail. Partitions are made empty and then attached,
-- which takes SHARE UPDATE EXCLUSIVE on culex.message_store: writes and reads go on.
CREATE FUNCTION culex.create_message_partition(at timestamptz, width_hours integer)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    width interval := make_interval(hours => width_hours);
    lo timestamptz := date_bin(width, at, timestamptz '2000-01-01 00:00:00+00');
    hi timestamptz := lo + width;
    name text;
BEGIN
    PERFORM pg_advisory_xact_lock(7240117433690218534);
    IF EXISTS (SELECT 1 FROM culex.message_partitions p
               WHERE at >= p.range_from AND at < p.range_to) THEN
        RETURN NULL;
    END IF;
    SELECT greatest(lo, max(p.range_to)) INTO lo FROM culex.message_partitions p
        WHERE p.range_to <= at;
    SELECT least(hi, min(p.range_from)) INTO hi FROM culex.message_partitions p
        WHERE p.range_from > at;
    name := 'message_store_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24');
    EXECUTE format('CREATE TABLE culex.%I (LIKE culex.message_store INCLUDING DEFAULTS)', name);
    EXECUTE format('ALTER TABLE culex.message_store ATTACH PARTITION culex.%I'
                   ' FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    RETURN name;
END $$;

-- The table as it was becomes the first partition.
DO $$
DECLARE
    before_hour timestamptz;
    max_id bigint;
BEGIN
    LOCK TABLE culex.message_store IN ACCESS EXCLUSIVE MODE;
    SELECT max(id) INTO max_id FROM culex.message_store;
    IF max_id >= 8589934592 THEN
        RAISE EXCEPTION 'culex.message_store has ids up to %, beyond the 2^33 this migration '
            'can keep as they are', max_id;
    END IF;
    SELECT date_bin('1 hour', greatest(now(), max(received_at)), timestamptz 'epoch')
           + interval '1 hour'
        INTO before_hour FROM culex.message_store;
    IF max_id IS NULL THEN
        -- Nothing to keep: a new database starts with no partition at all.
        DROP VIEW culex.messages;
        DROP TABLE culex.message_store;
        before_hour := to_timestamp(3600);
    ELSE
        ALTER TABLE culex.message_store ALTER COLUMN id DROP IDENTITY;
        EXECUTE format('ALTER TABLE culex.message_store ADD CONSTRAINT message_store_before'
                       ' CHECK (received_at < %L)', before_hour);
        -- The one index this costs: a partition's key must contain the partition key.
        CREATE UNIQUE INDEX message_store_before_pkey ON culex.message_store (id, received_at);
        ALTER TABLE culex.message_store DROP CONSTRAINT message_store_pkey;
        ALTER TABLE culex.message_store ADD CONSTRAINT message_store_before_pkey
            PRIMARY KEY USING INDEX message_store_before_pkey;
        ALTER TABLE culex.message_store RENAME TO message_store_before;
        ALTER INDEX culex.message_store_topic_time RENAME TO message_store_before_topic_time;
        DROP VIEW culex.messages;
    END IF;
    ALTER TABLE culex.message_store_new RENAME TO message_store;
    ALTER INDEX culex.message_store_new_pkey RENAME TO message_store_pkey;
    IF max_id IS NOT NULL THEN
        EXECUTE format('ALTER TABLE culex.message_store ATTACH PARTITION culex.message_store_before'
                       ' FOR VALUES FROM (MINVALUE) TO (%L)', before_hour);
        ALTER TABLE culex.message_store_before DROP CONSTRAINT message_store_before;
    END IF;
    -- Ids from before this migration (below 2^33) live in that first partition.
    EXECUTE format('CREATE FUNCTION culex.message_id_until(id bigint) RETURNS timestamptz'
                   ' LANGUAGE sql IMMUTABLE PARALLEL SAFE'
                   ' RETURN CASE WHEN id < 8589934592 THEN timestamptz %L'
                   ' ELSE to_timestamp(((id >> 33) + 1) * 3600) END', before_hour);
END $$;

-- "Newest N of a topic" and "a topic in a time window"; id breaks ties for paging.
CREATE INDEX message_store_topic_time ON culex.message_store (topic_id, received_at, id);
-- Soft-deleted rows, for the trash purge; the writer's rows (deleted_at NULL) are not in it.
CREATE INDEX message_store_trash ON culex.message_store (deleted_at)
    WHERE deleted_at IS NOT NULL;

-- Partitions by their bounds; '-infinity' stands for MINVALUE.
CREATE VIEW culex.message_partitions AS
SELECT c.oid::regclass AS partition,
       c.relname AS name,
       CASE WHEN b[1] = 'MINVALUE' THEN timestamptz '-infinity'
            ELSE trim(both '''' FROM b[1])::timestamptz END AS range_from,
       CASE WHEN b[2] = 'MAXVALUE' THEN timestamptz 'infinity'
            ELSE trim(both '''' FROM b[2])::timestamptz END AS range_to
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                'FROM \((.*)\) TO \((.*)\)') AS b
WHERE i.inhparent = 'culex.message_store'::regclass;

CREATE VIEW culex.messages AS
SELECT m.id, t.name AS topic, m.payload, m.payload_json, m.qos, m.retain, m.client_id,
       m.username, b.name AS broker, m.seq, m.received_at,
       culex.payload_text(m.payload) AS payload_text
FROM culex.message_store m
JOIN culex.topics t ON t.id = m.topic_id
JOIN culex.brokers b ON b.id = m.broker_id
WHERE m.deleted_at IS NULL;
