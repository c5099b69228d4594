-- vendo-isolation: the credit ledger of SPEC section 9.1 in PostgreSQL.
-- PostgreSQL 11 or later.
--
-- Two-phase transfers, as TigerBeetle names them: a reserve moves an amount
-- from a tenant's available balance to its pending balance, and the hold is
-- later posted (the actual cost, capped at the hold, moves to spent and the
-- rest back to available), voided (all of it back) or expired (all of it
-- back, by the sweeper or by the late post/void that finds it due).
--
-- Why the balance cannot be overdrawn, at READ COMMITTED, by any number of
-- concurrent callers: the reserve is one conditional UPDATE
--     ... SET available = available - amount WHERE available >= amount
-- A second UPDATE of the same row waits for the first to commit and then
-- re-evaluates its WHERE clause against the row the first one wrote
-- (PostgreSQL's EvalPlanQual re-check), so two reserves of the last credits
-- cannot both pass. No value read earlier in the transaction is ever
-- written back. The table's CHECK constraints refuse a negative balance and
-- a balance that does not add up, even from a caller that bypasses these
-- functions.
--
-- Idempotency: a reservation id is claimed by INSERT ... ON CONFLICT on
-- (tenant_id, reservation_id) before the balance is touched. A concurrent
-- retry of the same id waits on that unique index and then sees the first
-- row: `duplicate`, no second hold. The first outcome of an id is kept,
-- a refusal included: a retry of a refused id answers the same refusal
-- rather than turning into a hold the first caller never saw (as the
-- crate's model::Ledger does). Ids are scoped per tenant, so another
-- tenant's use of an id is invisible here (`not_found`, never `id_reused`).
--
-- Locks are taken in one order everywhere: the hold row, then the tenant's
-- balance row. The sweeper locks due holds with FOR UPDATE SKIP LOCKED (two
-- sweepers take disjoint sets; a hold a post is resolving is skipped) and
-- updates balances in tenant id order, so sweepers on many machines never
-- deadlock with each other or with the proxies.
--
-- now_s defaults to the database clock (an omitted or NULL now_s is the
-- transaction's now()); tests pass it explicitly. Amounts are integer
-- micro-credits. Ids compare byte for byte
-- (COLLATE "C"), as in the binding DDL. The functions are SECURITY DEFINER
-- and are the only way in: grant the proxy role EXECUTE on them and nothing
-- on the tables.

CREATE TABLE vendo_credit_balances (
    tenant_id text COLLATE "C" NOT NULL,
    -- Sum of applied top-ups.
    credited bigint NOT NULL DEFAULT 0,
    -- Sum of unresolved holds.
    pending bigint NOT NULL DEFAULT 0,
    -- Sum of posted debits.
    spent bigint NOT NULL DEFAULT 0,
    -- credited - pending - spent, kept as a column so the reserve's
    -- conditional UPDATE reads and writes one value.
    available bigint NOT NULL DEFAULT 0,
    CONSTRAINT vendo_credit_balances_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT vendo_credit_balances_tenant_syntax CHECK (
        tenant_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    -- No overdraft, whoever writes.
    CONSTRAINT vendo_credit_balances_not_negative CHECK (
        available >= 0 AND pending >= 0 AND spent >= 0 AND credited >= 0
    ),
    -- Conservation, whoever writes.
    CONSTRAINT vendo_credit_balances_add_up CHECK (credited = available + pending + spent)
);

CREATE TABLE vendo_credit_top_ups (
    tenant_id text COLLATE "C" NOT NULL,
    top_up_id text COLLATE "C" NOT NULL,
    amount bigint NOT NULL,
    CONSTRAINT vendo_credit_top_ups_pkey PRIMARY KEY (tenant_id, top_up_id),
    CONSTRAINT vendo_credit_top_ups_tenant_syntax CHECK (
        tenant_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    CONSTRAINT vendo_credit_top_ups_amount CHECK (amount >= 0),
    CONSTRAINT vendo_credit_top_ups_id_syntax CHECK (
        top_up_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    )
);

CREATE TABLE vendo_credit_holds (
    tenant_id text COLLATE "C" NOT NULL,
    reservation_id text COLLATE "C" NOT NULL,
    -- The amount asked for: held while pending, never held if refused.
    amount bigint NOT NULL,
    -- pending, then exactly one of posted, voided, expired; or refused
    -- (insufficient credits: nothing was held).
    state text COLLATE "C" NOT NULL,
    -- What a post debited (0 otherwise).
    debit bigint NOT NULL DEFAULT 0,
    -- The first second at which the hold is expired (half-open, as a
    -- session is at exp).
    expires_at bigint NOT NULL,
    CONSTRAINT vendo_credit_holds_pkey PRIMARY KEY (tenant_id, reservation_id),
    CONSTRAINT vendo_credit_holds_tenant_syntax CHECK (
        tenant_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    CONSTRAINT vendo_credit_holds_id_syntax CHECK (
        reservation_id ~ '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-]{1,64}$'
    ),
    CONSTRAINT vendo_credit_holds_amount CHECK (amount > 0),
    CONSTRAINT vendo_credit_holds_state CHECK (state IN ('pending', 'posted', 'voided', 'expired', 'refused')),
    CONSTRAINT vendo_credit_holds_debit CHECK (
        debit >= 0 AND debit <= amount AND (debit = 0 OR state = 'posted')
    )
);

-- The sweeper's scan: due pending holds only.
CREATE INDEX vendo_credit_holds_due ON vendo_credit_holds (expires_at) WHERE state = 'pending';

-- A hold is resolved once: a row that left `pending` never changes again,
-- and no update moves a hold to another tenant, id, amount or expiry.
CREATE FUNCTION vendo_credit_holds_resolve_once() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
    IF OLD.state <> 'pending' THEN
        RAISE EXCEPTION USING ERRCODE = 'VI004',
            MESSAGE = 'vendo_isolation: credit hold ' || OLD.reservation_id || ' is already ' || OLD.state;
    END IF;
    IF (NEW.tenant_id, NEW.reservation_id, NEW.amount, NEW.expires_at)
        IS DISTINCT FROM (OLD.tenant_id, OLD.reservation_id, OLD.amount, OLD.expires_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'VI004',
            MESSAGE = 'vendo_isolation: credit hold ' || OLD.reservation_id || ' cannot be moved or resized';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER vendo_credit_holds_resolve_once BEFORE UPDATE ON vendo_credit_holds
    FOR EACH ROW EXECUTE PROCEDURE vendo_credit_holds_resolve_once();

-- credited | duplicate | id_reused
CREATE FUNCTION vendo_credits_top_up(tenant_id text, top_up_id text, amount bigint) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior bigint;
BEGIN
    INSERT INTO vendo_credit_top_ups AS u (tenant_id, top_up_id, amount)
    VALUES (vendo_credits_top_up.tenant_id, vendo_credits_top_up.top_up_id, vendo_credits_top_up.amount)
    ON CONFLICT ON CONSTRAINT vendo_credit_top_ups_pkey DO NOTHING;
    IF NOT FOUND THEN
        SELECT u.amount INTO prior FROM vendo_credit_top_ups u
        WHERE u.tenant_id = vendo_credits_top_up.tenant_id AND u.top_up_id = vendo_credits_top_up.top_up_id;
        IF prior = vendo_credits_top_up.amount THEN
            RETURN 'duplicate';
        END IF;
        RETURN 'id_reused';
    END IF;
    INSERT INTO vendo_credit_balances AS b (tenant_id, credited, available)
    VALUES (vendo_credits_top_up.tenant_id, vendo_credits_top_up.amount, vendo_credits_top_up.amount)
    ON CONFLICT ON CONSTRAINT vendo_credit_balances_pkey DO UPDATE
        SET credited = b.credited + EXCLUDED.credited, available = b.available + EXCLUDED.available;
    RETURN 'credited';
END;
$$;

-- reserved | duplicate | id_reused | insufficient_credits | bad_request
CREATE FUNCTION vendo_credits_reserve(
    tenant_id text, reservation_id text, amount bigint, ttl_s integer, now_s bigint DEFAULT NULL
) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    prior record;
BEGIN
    now_s := coalesce(now_s, floor(extract(epoch FROM now()))::bigint);
    IF amount IS NULL OR ttl_s IS NULL OR amount <= 0 OR ttl_s <= 0
        OR now_s > 9223372036854775807 - ttl_s THEN
        RETURN 'bad_request';
    END IF;
    -- Claim the id first: a concurrent retry waits here, then sees this row.
    INSERT INTO vendo_credit_holds AS h (tenant_id, reservation_id, amount, state, expires_at)
    VALUES (vendo_credits_reserve.tenant_id, vendo_credits_reserve.reservation_id, vendo_credits_reserve.amount,
            'pending', now_s + ttl_s)
    ON CONFLICT ON CONSTRAINT vendo_credit_holds_pkey DO NOTHING;
    IF NOT FOUND THEN
        SELECT h.amount, h.state INTO prior FROM vendo_credit_holds h
        WHERE h.tenant_id = vendo_credits_reserve.tenant_id AND h.reservation_id = vendo_credits_reserve.reservation_id;
        IF prior.amount <> vendo_credits_reserve.amount THEN
            RETURN 'id_reused';
        ELSIF prior.state = 'refused' THEN
            RETURN 'insufficient_credits';
        END IF;
        RETURN 'duplicate';
    END IF;
    -- The check and the hold are one statement.
    UPDATE vendo_credit_balances b
    SET available = b.available - vendo_credits_reserve.amount, pending = b.pending + vendo_credits_reserve.amount
    WHERE b.tenant_id = vendo_credits_reserve.tenant_id AND b.available >= vendo_credits_reserve.amount;
    IF NOT FOUND THEN
        UPDATE vendo_credit_holds h SET state = 'refused'
        WHERE h.tenant_id = vendo_credits_reserve.tenant_id AND h.reservation_id = vendo_credits_reserve.reservation_id;
        RETURN 'insufficient_credits';
    END IF;
    RETURN 'reserved';
END;
$$;

-- Resolves one pending hold of one tenant: posted | posted_capped | voided |
-- not_found | already_resolved | expired. actual is NULL for a void.
CREATE FUNCTION vendo_credits_resolve(t text, r text, actual bigint, now_s bigint) RETURNS text
    LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    hold record;
    charged bigint;
BEGIN
    now_s := coalesce(now_s, floor(extract(epoch FROM now()))::bigint);
    IF actual < 0 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'vendo_isolation: actual cost is negative';
    END IF;
    SELECT h.amount, h.state, h.expires_at INTO hold FROM vendo_credit_holds h
    WHERE h.tenant_id = t AND h.reservation_id = r
    FOR UPDATE;
    IF NOT FOUND OR hold.state = 'refused' THEN
        RETURN 'not_found';
    ELSIF hold.state <> 'pending' THEN
        RETURN 'already_resolved';
    END IF;
    IF hold.expires_at <= now_s THEN
        UPDATE vendo_credit_holds h SET state = 'expired' WHERE h.tenant_id = t AND h.reservation_id = r;
        UPDATE vendo_credit_balances b SET pending = b.pending - hold.amount, available = b.available + hold.amount
        WHERE b.tenant_id = t;
        RETURN 'expired';
    END IF;
    IF actual IS NULL THEN
        UPDATE vendo_credit_holds h SET state = 'voided' WHERE h.tenant_id = t AND h.reservation_id = r;
        UPDATE vendo_credit_balances b SET pending = b.pending - hold.amount, available = b.available + hold.amount
        WHERE b.tenant_id = t;
        RETURN 'voided';
    END IF;
    charged := least(actual, hold.amount);
    UPDATE vendo_credit_holds h SET state = 'posted', debit = charged
    WHERE h.tenant_id = t AND h.reservation_id = r;
    UPDATE vendo_credit_balances b
    SET pending = b.pending - hold.amount, spent = b.spent + charged,
        available = b.available + (hold.amount - charged)
    WHERE b.tenant_id = t;
    IF actual > hold.amount THEN
        RETURN 'posted_capped';
    END IF;
    RETURN 'posted';
END;
$$;

-- posted | posted_capped | not_found | already_resolved | expired
CREATE FUNCTION vendo_credits_post(
    tenant_id text, reservation_id text, actual bigint, now_s bigint DEFAULT NULL
) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF actual IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'vendo_isolation: actual cost is null';
    END IF;
    RETURN vendo_credits_resolve(tenant_id, reservation_id, actual, now_s);
END;
$$;

-- voided | not_found | already_resolved | expired
CREATE FUNCTION vendo_credits_void(tenant_id text, reservation_id text, now_s bigint DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    RETURN vendo_credits_resolve(tenant_id, reservation_id, NULL, now_s);
END;
$$;

-- The number of due holds released, at most max_rows. Safe to run on many
-- machines at once.
CREATE FUNCTION vendo_credits_expire(max_rows integer, now_s bigint DEFAULT NULL) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    tenants text[];
    amounts bigint[];
    counts integer[];
    released integer := 0;
BEGIN
    now_s := coalesce(now_s, floor(extract(epoch FROM now()))::bigint);
    IF max_rows IS NULL OR max_rows <= 0 THEN
        RETURN 0;
    END IF;
    -- Lock and resolve the due holds no one else is resolving.
    WITH due AS (
        SELECT h.tenant_id, h.reservation_id FROM vendo_credit_holds h
        WHERE h.state = 'pending' AND h.expires_at <= now_s
        ORDER BY h.expires_at, h.tenant_id, h.reservation_id
        LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    ), done AS (
        UPDATE vendo_credit_holds h SET state = 'expired'
        FROM due WHERE h.tenant_id = due.tenant_id AND h.reservation_id = due.reservation_id
        RETURNING h.tenant_id, h.amount
    ), per_tenant AS (
        SELECT done.tenant_id, sum(done.amount)::bigint AS amount, count(*)::integer AS n
        FROM done GROUP BY done.tenant_id
    )
    SELECT array_agg(p.tenant_id ORDER BY p.tenant_id), array_agg(p.amount ORDER BY p.tenant_id),
           array_agg(p.n ORDER BY p.tenant_id)
    INTO tenants, amounts, counts FROM per_tenant p;
    -- Then release them, one balance row at a time in tenant id order, so
    -- two sweepers never wait on each other in a cycle.
    FOR i IN 1 .. coalesce(array_length(tenants, 1), 0) LOOP
        UPDATE vendo_credit_balances b SET pending = b.pending - amounts[i], available = b.available + amounts[i]
        WHERE b.tenant_id = tenants[i];
        released := released + counts[i];
    END LOOP;
    RETURN released;
END;
$$;

-- One row: credited, pending, spent, available (zeros for a tenant that
-- never topped up).
CREATE FUNCTION vendo_credits_balance(tenant_id text)
    RETURNS TABLE (credited bigint, pending bigint, spent bigint, available bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT coalesce(b.credited, 0), coalesce(b.pending, 0), coalesce(b.spent, 0), coalesce(b.available, 0)
    FROM (SELECT 1) AS one
    LEFT JOIN vendo_credit_balances b ON b.tenant_id = vendo_credits_balance.tenant_id
$$;

REVOKE ALL ON TABLE vendo_credit_balances, vendo_credit_top_ups, vendo_credit_holds FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credit_holds_resolve_once() FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_resolve(text, text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_top_up(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_reserve(text, text, bigint, integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_post(text, text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_void(text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_expire(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION vendo_credits_balance(text) FROM PUBLIC;
