-- vendo-isolation: the tenant tables and the database's refusal of
-- cross-tenant bindings. PostgreSQL 11 or later.
--
-- Seed: "Cross-tenant bindings cannot exist - not because the API blocks
-- them, but because the database refuses them." Two layers refuse them:
--
--   1. Composite foreign keys. A binding carries its tenant_id and
--      references deployments (tenant_id, id) and connections
--      (tenant_id, id): a row whose deployment and connection belong to
--      different tenants cannot satisfy both keys, whoever writes it and
--      however writes race. This layer alone is enough.
--   2. Triggers. They fill the binding's tenant_id (writers name only id,
--      deployment_id, connection_id) and refuse cross-tenant writes first,
--      with SQLSTATE VI001 / VI002 and a message that says which tenants
--      disagree. BEFORE row triggers run before any constraint, so their
--      message is the one users see.
--
-- Ids follow SPEC section 1 and compare byte for byte (COLLATE "C").
-- Neither layer survives a superuser or the table owner disabling them
-- (ALTER TABLE ... DISABLE TRIGGER ALL, session_replication_role =
-- replica): run the application as a role that owns nothing here.

CREATE TABLE tenants (
    id text COLLATE "C" NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    -- SPEC section 1; the class is spelled out because regex ranges
    -- may follow the collation.
    CONSTRAINT tenants_id_syntax CHECK (
        id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    )
);

CREATE TABLE deployments (
    id text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C" NOT NULL,
    CONSTRAINT deployments_pkey PRIMARY KEY (id),
    -- The target of the bindings' composite foreign key.
    CONSTRAINT deployments_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT deployments_id_syntax CHECK (
        id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    CONSTRAINT deployments_tenant_fk FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON UPDATE RESTRICT ON DELETE RESTRICT
);

CREATE TABLE connections (
    id text COLLATE "C" NOT NULL,
    tenant_id text COLLATE "C" NOT NULL,
    provider text COLLATE "C" NOT NULL,
    CONSTRAINT connections_pkey PRIMARY KEY (id),
    CONSTRAINT connections_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT connections_id_syntax CHECK (
        id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    -- vendo_isolation::Provider: lowercase, so the proxy's byte-exact
    -- provider check cannot be dodged by case.
    CONSTRAINT connections_provider_syntax CHECK (
        provider ~ '^[abcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    CONSTRAINT connections_tenant_fk FOREIGN KEY (tenant_id)
        REFERENCES tenants (id) ON UPDATE RESTRICT ON DELETE RESTRICT
);

CREATE TABLE app_connection_bindings (
    id text COLLATE "C" NOT NULL,
    deployment_id text COLLATE "C" NOT NULL,
    connection_id text COLLATE "C" NOT NULL,
    -- Filled by app_connection_bindings_same_tenant from the deployment;
    -- a value a writer supplies is overwritten. NOT NULL matters: a
    -- composite key with a NULL column is not checked at all (MATCH
    -- SIMPLE), which MATCH FULL also forbids.
    tenant_id text COLLATE "C" NOT NULL,
    CONSTRAINT app_connection_bindings_pkey PRIMARY KEY (id),
    CONSTRAINT app_connection_bindings_id_syntax CHECK (
        id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    -- RESTRICT, never CASCADE: a cascaded tenant change would rewrite the
    -- binding's tenant_id to follow one side and leave the other behind,
    -- and a cascaded delete would drop bindings silently.
    CONSTRAINT app_connection_bindings_deployment_fk FOREIGN KEY (tenant_id, deployment_id)
        REFERENCES deployments (tenant_id, id) MATCH FULL ON UPDATE RESTRICT ON DELETE RESTRICT,
    CONSTRAINT app_connection_bindings_connection_fk FOREIGN KEY (tenant_id, connection_id)
        REFERENCES connections (tenant_id, id) MATCH FULL ON UPDATE RESTRICT ON DELETE RESTRICT
);

-- The referencing side of the composite keys, for the key checks and the
-- triggers below.
CREATE INDEX app_connection_bindings_deployment_idx ON app_connection_bindings (tenant_id, deployment_id);
CREATE INDEX app_connection_bindings_connection_idx ON app_connection_bindings (tenant_id, connection_id);

-- The trigger functions find the tables through TG_TABLE_SCHEMA and run
-- with search_path = pg_catalog, pg_temp: a writer's own search_path, a
-- "$user" schema or a temporary table named deployments cannot stand in
-- for the real tables, nor a user-defined "=" for the built-in one.

-- Layer 2 for bindings: fill tenant_id, refuse a cross-tenant insert or
-- update with SQLSTATE VI001. A concurrent tenant change of the deployment
-- or connection may slip past this read; the composite keys, which lock
-- the rows they check, refuse whatever does.
CREATE FUNCTION vendo_binding_same_tenant() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d_tenant text;
    c_tenant text;
BEGIN
    IF NEW.deployment_id IS NULL OR NEW.connection_id IS NULL THEN
        -- NOT NULL refuses the row.
        RETURN NEW;
    END IF;
    EXECUTE format('SELECT tenant_id FROM %I.deployments WHERE id = $1', TG_TABLE_SCHEMA)
        INTO d_tenant USING NEW.deployment_id;
    IF d_tenant IS NULL THEN
        RAISE EXCEPTION 'vendo_isolation: unknown deployment %', NEW.deployment_id
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
                  CONSTRAINT = 'app_connection_bindings_deployment_fk';
    END IF;
    EXECUTE format('SELECT tenant_id FROM %I.connections WHERE id = $1', TG_TABLE_SCHEMA)
        INTO c_tenant USING NEW.connection_id;
    IF c_tenant IS NULL THEN
        RAISE EXCEPTION 'vendo_isolation: unknown connection %', NEW.connection_id
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME,
                  CONSTRAINT = 'app_connection_bindings_connection_fk';
    END IF;
    IF d_tenant <> c_tenant THEN
        RAISE EXCEPTION 'vendo_isolation: cross-tenant binding: deployment % belongs to tenant %, connection % belongs to tenant %',
                NEW.deployment_id, d_tenant, NEW.connection_id, c_tenant
            USING ERRCODE = 'VI001', TABLE = TG_TABLE_NAME,
                  HINT = 'bind a deployment only to connections of its own tenant';
    END IF;
    NEW.tenant_id := d_tenant;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER app_connection_bindings_same_tenant
    BEFORE INSERT OR UPDATE ON app_connection_bindings
    FOR EACH ROW EXECUTE FUNCTION vendo_binding_same_tenant();

-- Layer 2 for the bound rows: a deployment or connection that a binding
-- names cannot change tenant (its bindings would become cross-tenant) nor
-- id (they would dangle). SQLSTATE VI002.
CREATE FUNCTION vendo_bound_row_stays() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    b text;
BEGIN
    IF NEW.tenant_id IS NOT DISTINCT FROM OLD.tenant_id AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
        RETURN NEW;
    END IF;
    -- TG_TABLE_NAME is deployments or connections; the binding column is
    -- named after it.
    EXECUTE format(
        'SELECT id FROM %I.app_connection_bindings WHERE tenant_id = $1 AND %I = $2 ORDER BY id LIMIT 1',
        TG_TABLE_SCHEMA,
        CASE TG_TABLE_NAME WHEN 'deployments' THEN 'deployment_id' ELSE 'connection_id' END)
        INTO b USING OLD.tenant_id, OLD.id;
    IF b IS NOT NULL THEN
        RAISE EXCEPTION 'vendo_isolation: bound row cannot change tenant or id: % % of tenant % is bound by binding %',
                TG_TABLE_NAME, OLD.id, OLD.tenant_id, b
            USING ERRCODE = 'VI002', TABLE = TG_TABLE_NAME,
                  HINT = 'delete its bindings first';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER deployments_bound_row_stays
    BEFORE UPDATE ON deployments
    FOR EACH ROW EXECUTE FUNCTION vendo_bound_row_stays();

CREATE TRIGGER connections_bound_row_stays
    BEFORE UPDATE ON connections
    FOR EACH ROW EXECUTE FUNCTION vendo_bound_row_stays();
