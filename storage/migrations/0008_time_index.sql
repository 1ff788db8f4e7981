-- Rows in receive order across topics: "the newest N under a wildcard filter" walks this
-- index from the newest row and stops when the page is full, whatever the table holds
-- (docs/storage.md, "Reads under a topic filter").
--
-- Migrations run in one transaction, where CREATE INDEX CONCURRENTLY cannot, and a
-- plain build would hold off the writer for as long as it reads every row. So a database
-- that already has partitions gets the index on the partitioned table only; the storage
-- maintenance then builds each partition's part concurrently and attaches it, newest
-- partition first (time_index.h). Partitions made from now on get theirs when made.
-- A table its admin made a TimescaleDB hypertable (docs/scaling.md) is not partitioned
-- in PostgreSQL's sense: a plain CREATE INDEX there is built chunk by chunk by TimescaleDB.
DO $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'culex.message_store'::regclass) = 'p' THEN
        CREATE INDEX message_store_time ON ONLY culex.message_store (received_at, id);
    ELSE
        CREATE INDEX message_store_time ON culex.message_store (received_at, id);
    END IF;
END $$;
