-- vendo-isolation: the routing table (SPEC section 2) in PostgreSQL, for
-- proxies that read their routes from the database. PostgreSQL 11 or later.
--
-- The crate decides (HostPolicy::assign, HostPolicy::rename: a RouteChange
-- of Remove, Tombstone and Write ops); vendo_routes_apply writes a change
-- all or nothing, in one transaction, re-checking each op against what the
-- table holds now. Readers call vendo_routes_lookup. Because PostgreSQL
-- reads its own commits, a lookup that starts after a rename commits never
-- sees the old key: "the old hostname 404s immediately" holds here. A cache
-- in front (Workers KV, a proxy's memory) serves the old entry until it
-- expires; that bound is the cache's TTL, not this table's.
--
-- The tombstone rule is a constraint, not a convention: every key a tenant
-- ever held has a row in vendo_route_labels naming that tenant, for good,
-- and a live route references (route_key, tenant_id) there. A label freed by
-- one tenant therefore cannot be written for another: its route row would
-- need a second label row under the same key, which the primary key
-- refuses, whoever writes and however writes race. A trigger refuses
-- moving a label to another tenant (SQLSTATE VI003).
--
-- Ids and labels compare byte for byte (COLLATE "C"), as in the binding
-- DDL. Run the proxy as a role with EXECUTE on the two functions only.

CREATE TABLE vendo_route_labels (
    route_key text COLLATE "C" NOT NULL,
    -- The tenant that holds the key, live or tombstoned.
    tenant_id text COLLATE "C" NOT NULL,
    CONSTRAINT vendo_route_labels_pkey PRIMARY KEY (route_key),
    CONSTRAINT vendo_route_labels_key_tenant UNIQUE (route_key, tenant_id),
    -- SPEC section 2: a single-level label or a legacy
    -- "{deployment}.{tenant}", lowercase, labels of 1 to 63 bytes.
    CONSTRAINT vendo_route_labels_key_syntax CHECK (
        route_key ~ '^[abcdefghijklmnopqrstuvwxyz0123456789-]{1,63}([.][abcdefghijklmnopqrstuvwxyz0123456789-]{1,63})?$'
    ),
    CONSTRAINT vendo_route_labels_tenant_syntax CHECK (
        tenant_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    )
);

CREATE TABLE vendo_routes (
    route_key text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C" NOT NULL,
    deployment_id text COLLATE "C" NOT NULL,
    tenant_slug text COLLATE "C" NOT NULL,
    deployment_slug text COLLATE "C" NOT NULL,
    upstream text COLLATE "C" NOT NULL,
    CONSTRAINT vendo_routes_pkey PRIMARY KEY (route_key),
    -- The tombstone rule: a live key is its label holder's.
    CONSTRAINT vendo_routes_label_fk FOREIGN KEY (route_key, tenant_id)
        REFERENCES vendo_route_labels (route_key, tenant_id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    -- SPEC section 2: the entry's slugs rebuild exactly the key it is
    -- stored under (route_mismatch otherwise).
    CONSTRAINT vendo_routes_slugs_rebuild_key CHECK (
        route_key = tenant_slug || '-' || deployment_slug
        OR route_key = deployment_slug || '.' || tenant_slug
    ),
    CONSTRAINT vendo_routes_deployment_syntax CHECK (
        deployment_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    )
);

CREATE INDEX vendo_routes_deployment ON vendo_routes (deployment_id);

CREATE FUNCTION vendo_route_label_stays() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id OR NEW.route_key IS DISTINCT FROM OLD.route_key THEN
        RAISE EXCEPTION 'vendo_isolation: label % is held by tenant % and cannot move to %',
            OLD.route_key, OLD.tenant_id, NEW.tenant_id
            USING ERRCODE = 'VI003', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER vendo_route_label_stays BEFORE UPDATE ON vendo_route_labels
    FOR EACH ROW EXECUTE FUNCTION vendo_route_label_stays();

-- The live route under a key, or no row.
CREATE FUNCTION vendo_routes_lookup(route_key text)
    RETURNS TABLE (tenant_id text, deployment_id text, tenant_slug text, deployment_slug text, upstream text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.tenant_id, r.deployment_id, r.tenant_slug, r.deployment_slug, r.upstream
    FROM vendo_routes r WHERE r.route_key = vendo_routes_lookup.route_key COLLATE "C";
$$;

-- Applies a RouteChange: a JSON array of
--   {"op":"remove","key":K}
--   {"op":"tombstone","key":K,"tenant_id":T}
--   {"op":"write","key":K,"tenant_id":T,"deployment_id":D,
--    "tenant_slug":TS,"deployment_slug":DS,"upstream":U}
-- in order, all or nothing. Answers 'applied', or the refusal the change
-- meets in the table as it is now (the decision was made on an older read):
--   taken          the key is live for another deployment
--   tombstoned     the key is held by another tenant
--   shadows_legacy the write would nest one host under another (SPEC 2)
--   route_mismatch the entry's slugs do not rebuild the key
--   stale_change   a remove or tombstone that no longer matches
--   bad_request    an op this function does not know
-- Writes that race for one free key serialize on its primary key: exactly
-- one commits 'applied', the other answers 'taken' (or 'tombstoned').
CREATE FUNCTION vendo_routes_apply(change jsonb)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    op jsonb;
    k text COLLATE "C";
    t text COLLATE "C";
    holder text COLLATE "C";
    live record;
    parent text COLLATE "C";
BEGIN
    IF jsonb_typeof(change) IS DISTINCT FROM 'array' THEN
        RETURN 'bad_request';
    END IF;
    BEGIN
        -- Two changes that touch one label run one after the other: each
        -- takes, up front and in one global order (so no two changes wait
        -- on each other), a transaction lock per key it names and per
        -- single-level label a legacy key nests under; a single-level
        -- write locks its own key, which is that label.
        PERFORM pg_advisory_xact_lock(h) FROM (
            SELECT DISTINCT hashtext('vendo_route:' || x) AS h FROM (
                SELECT e->>'key' AS x FROM jsonb_array_elements(change) e
                UNION ALL
                SELECT split_part(e->>'key', '.', 2) FROM jsonb_array_elements(change) e
                WHERE position('.' in e->>'key') > 0
            ) keys WHERE x IS NOT NULL
        ) locks ORDER BY h;
        FOR op IN SELECT value FROM jsonb_array_elements(change) LOOP
            k := op->>'key';
            IF k IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'bad_request';
            END IF;
            CASE op->>'op'
            WHEN 'remove' THEN
                DELETE FROM vendo_routes r WHERE r.route_key = k;
                IF NOT FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'stale_change';
                END IF;
            WHEN 'tombstone' THEN
                t := op->>'tenant_id';
                IF EXISTS (SELECT 1 FROM vendo_routes r WHERE r.route_key = k) THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'stale_change';
                END IF;
                SELECT l.tenant_id INTO holder FROM vendo_route_labels l WHERE l.route_key = k;
                IF holder IS NULL THEN
                    INSERT INTO vendo_route_labels (route_key, tenant_id) VALUES (k, t);
                ELSIF holder <> t THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'stale_change';
                END IF;
            WHEN 'write' THEN
                t := op->>'tenant_id';
                IF NOT (k = (op->>'tenant_slug') || '-' || (op->>'deployment_slug')
                        OR k = (op->>'deployment_slug') || '.' || (op->>'tenant_slug')) THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'route_mismatch';
                END IF;
                -- SPEC 2: a single-level key must not be the tenant slug of
                -- a legacy key (live or tombstoned), nor a legacy key the
                -- child of a live single-level route.
                IF position('.' in k) = 0 THEN
                    IF EXISTS (SELECT 1 FROM vendo_route_labels l
                               WHERE l.route_key LIKE '%.' || k AND split_part(l.route_key, '.', 2) = k) THEN
                        RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'shadows_legacy';
                    END IF;
                ELSE
                    parent := split_part(k, '.', 2);
                    IF EXISTS (SELECT 1 FROM vendo_routes r WHERE r.route_key = parent) THEN
                        RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'shadows_legacy';
                    END IF;
                END IF;
                SELECT r.tenant_id, r.deployment_id INTO live FROM vendo_routes r WHERE r.route_key = k;
                IF FOUND AND (live.tenant_id <> t OR live.deployment_id <> op->>'deployment_id') THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'taken';
                END IF;
                SELECT l.tenant_id INTO holder FROM vendo_route_labels l WHERE l.route_key = k;
                IF holder IS NULL THEN
                    INSERT INTO vendo_route_labels (route_key, tenant_id) VALUES (k, t);
                ELSIF holder <> t THEN
                    RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'tombstoned';
                END IF;
                INSERT INTO vendo_routes AS r
                    (route_key, tenant_id, deployment_id, tenant_slug, deployment_slug, upstream)
                VALUES (k, t, op->>'deployment_id', op->>'tenant_slug', op->>'deployment_slug', op->>'upstream')
                ON CONFLICT (route_key) DO UPDATE
                    SET tenant_slug = EXCLUDED.tenant_slug, deployment_slug = EXCLUDED.deployment_slug,
                        upstream = EXCLUDED.upstream;
            ELSE
                RAISE EXCEPTION USING ERRCODE = 'VI010', MESSAGE = 'bad_request';
            END CASE;
        END LOOP;
    EXCEPTION
        WHEN SQLSTATE 'VI010' THEN
            RETURN SQLERRM;
        WHEN unique_violation OR foreign_key_violation THEN
            RETURN 'taken';
        WHEN check_violation OR not_null_violation THEN
            RETURN 'bad_request';
    END;
    RETURN 'applied';
END;
$$;

REVOKE ALL ON FUNCTION vendo_routes_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_routes_apply(jsonb) FROM PUBLIC;
