-- Every change to culex.rules also notifies channel culex_rules (on commit), so brokers
-- that LISTEN reload within moments instead of at their next poll of the generation.
CREATE OR REPLACE FUNCTION culex.bump_rules_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE culex.rules_generation SET generation = generation + 1;
    PERFORM pg_notify('culex_rules', '');
    RETURN NULL;
END $$;
