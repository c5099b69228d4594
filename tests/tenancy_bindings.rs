//! Bindings, the proxy's hot-path checks and the tenant-keyed lookups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use vendo_isolation::model::TenancyModel;
use vendo_isolation::tenancy::{
    Binding, Connection, ConnectionDenied, Deployment, KeyScope, Provider, ResolveConnectionError, TenantLookup,
    check_connection_use, resolve_connection,
};
use vendo_isolation::testing::{binding_id, common_provider, common_tenant, connection, deployment, same_tenant_pair};
use vendo_isolation::{BindingId, ConnectionId, DeploymentId, TenantId};

fn t(s: &str) -> TenantId {
    s.parse().unwrap()
}
fn d(id: &str, tenant: &str) -> Deployment {
    Deployment::new(id.parse().unwrap(), t(tenant))
}
fn c(id: &str, tenant: &str, provider: &str) -> Connection {
    Connection::new(id.parse().unwrap(), t(tenant), provider.parse().unwrap())
}
fn p(s: &str) -> Provider {
    s.parse().unwrap()
}

proptest! {
    /// A binding exists iff both records belong to one tenant, and then it
    /// carries exactly that tenant and both ids.
    #[test]
    fn binding_exists_iff_same_tenant(id in binding_id(), dep in deployment(), conn in connection()) {
        match Binding::new(id.clone(), &dep, &conn) {
            Ok(b) => {
                prop_assert_eq!(dep.tenant_id(), conn.tenant_id());
                prop_assert_eq!(b.tenant_id(), dep.tenant_id());
                prop_assert_eq!(b.id(), &id);
                prop_assert_eq!(b.deployment_id(), dep.id());
                prop_assert_eq!(b.connection_id(), conn.id());
            }
            Err(e) => {
                prop_assert_ne!(dep.tenant_id(), conn.tenant_id());
                prop_assert_eq!(&e.deployment_tenant, dep.tenant_id());
                prop_assert_eq!(&e.connection_tenant, conn.tenant_id());
                prop_assert_eq!(e.code(), "cross_tenant_binding");
            }
        }
    }

    /// Same-tenant records always bind.
    #[test]
    fn same_tenant_always_binds(id in binding_id(), (dep, conn) in same_tenant_pair()) {
        prop_assert!(Binding::new(id, &dep, &conn).is_ok());
    }

    /// The proxy grants iff every check passes, and a denial is the first
    /// failing check in the documented order.
    #[test]
    fn check_connection_use_is_the_conjunction_in_order(
        key_tenant in common_tenant(),
        key_dep in proptest::option::of(prop::sample::select(&["d1", "d2"][..])),
        b_tenant in common_tenant(),
        b_dep in prop::sample::select(&["d1", "d2"][..]),
        b_conn in prop::sample::select(&["c1", "c2"][..]),
        conn in connection().prop_map(|c| c),
        conn_id in prop::sample::select(&["c1", "c2"][..]),
        adapter in common_provider(),
    ) {
        let key = match key_dep {
            Some(dep) => KeyScope::deployment(key_tenant.clone(), dep.parse().unwrap()),
            None => KeyScope::tenant(key_tenant.clone()),
        };
        let binding = Binding::from_stored("b".parse().unwrap(), b_tenant.clone(), b_dep.parse().unwrap(), b_conn.parse().unwrap());
        let conn = Connection::new(conn_id.parse().unwrap(), conn.tenant_id().clone(), conn.provider().clone());
        let expected = if b_tenant != key_tenant {
            Err(ConnectionDenied::BindingTenant)
        } else if key_dep.is_some_and(|k| k != b_dep) {
            Err(ConnectionDenied::BindingDeployment)
        } else if b_conn != conn_id {
            Err(ConnectionDenied::BindingConnection)
        } else if conn.tenant_id() != &key_tenant {
            Err(ConnectionDenied::ConnectionTenant)
        } else if conn.provider() != &adapter {
            Err(ConnectionDenied::Provider)
        } else {
            Ok(())
        };
        let got = check_connection_use(&key, &binding, &conn, &adapter);
        prop_assert_eq!(got.map(drop), expected);
        if let Ok(granted) = got {
            // Credits are reserved against this tenant: it must be the key's.
            prop_assert_eq!(granted.tenant_id(), &key_tenant);
            prop_assert_eq!(granted.connection().provider(), &adapter);
        }
    }

    /// Whatever a lookup returns, even one that ignores the tenant it is
    /// given, resolve_connection never hands out another tenant's
    /// connection or another provider's.
    #[test]
    fn resolve_never_crosses_tenants_even_with_a_leaky_lookup(
        rows in prop::collection::vec((connection(), common_tenant(), prop::sample::select(&["d1", "d2"][..])), 1..8),
        key_tenant in common_tenant(),
        pick in any::<prop::sample::Index>(),
        adapter in common_provider(),
    ) {
        let mut leaky = Leaky::default();
        for (i, (conn, b_tenant, dep)) in rows.iter().enumerate() {
            let bid: BindingId = format!("b{i}").parse().unwrap();
            let b = Binding::from_stored(bid.clone(), b_tenant.clone(), dep.parse().unwrap(), conn.id().clone());
            leaky.bindings.insert(bid, b);
            leaky.connections.insert(conn.id().clone(), conn.clone());
        }
        let bid: BindingId = format!("b{}", pick.index(rows.len())).parse().unwrap();
        let key = KeyScope::tenant(key_tenant.clone());
        if let Ok(conn) = resolve_connection(&leaky, &key, &bid, &adapter) {
            prop_assert_eq!(conn.tenant_id(), &key_tenant);
            prop_assert_eq!(conn.provider(), &adapter);
        }
    }
}

/// A lookup with the bug the hot-path checks exist for: it ignores the
/// tenant it is given.
#[derive(Default)]
struct Leaky {
    bindings: BTreeMap<BindingId, Binding>,
    connections: BTreeMap<ConnectionId, Connection>,
}

impl TenantLookup for Leaky {
    type Error = ();
    fn binding(&self, _: &TenantId, id: &BindingId) -> Result<Option<Binding>, ()> {
        Ok(self.bindings.get(id).cloned())
    }
    fn connection(&self, _: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, ()> {
        Ok(self.connections.get(id).cloned())
    }
}

/// Hostile requests at the proxy. Tenant `acme` owns deployment `d_crm`,
/// connection `c_openai` (openai) and binding `b_1`; tenant `evil` owns
/// `d_evil`, `c_evil` (openai) and `b_evil`.
#[test]
fn hostile_requests_at_the_proxy() {
    let mut db = TenancyModel::new();
    for tenant in ["acme", "evil", "Acme"] {
        db.insert_tenant(t(tenant)).unwrap();
    }
    db.insert_deployment(d("d_crm", "acme")).unwrap();
    db.insert_deployment(d("d_other", "acme")).unwrap();
    db.insert_deployment(d("d_evil", "evil")).unwrap();
    db.insert_connection(c("c_openai", "acme", "openai")).unwrap();
    db.insert_connection(c("c_notion", "acme", "notion")).unwrap();
    db.insert_connection(c("c_evil", "evil", "openai")).unwrap();
    let bind = |db: &mut TenancyModel, b: &str, d: &str, c: &str| {
        db.insert_binding(b.parse().unwrap(), &d.parse().unwrap(), &c.parse().unwrap()).unwrap();
    };
    bind(&mut db, "b_1", "d_crm", "c_openai");
    bind(&mut db, "b_notion", "d_crm", "c_notion");
    bind(&mut db, "b_other", "d_other", "c_openai");
    bind(&mut db, "b_evil", "d_evil", "c_evil");

    let acme_crm = KeyScope::deployment(t("acme"), "d_crm".parse().unwrap());
    let evil = KeyScope::deployment(t("evil"), "d_evil".parse().unwrap());
    let rows: &[(&KeyScope, &str, &str, Result<&str, &str>)] = &[
        // The normal call.
        (&acme_crm, "b_1", "openai", Ok("c_openai")),
        // Seed: "even if it forged the right binding ids": evil names
        // acme's binding; the lookup is keyed on evil, so it finds nothing.
        (&evil, "b_1", "openai", Err("unknown_binding")),
        // acme names evil's binding.
        (&acme_crm, "b_evil", "openai", Err("unknown_binding")),
        // The binding is acme's, but for another deployment than the key's.
        (&acme_crm, "b_other", "openai", Err("binding_deployment_mismatch")),
        // The openai adapter serving a notion connection (seed: "the
        // connection's provider matches the proxy adapter").
        (&acme_crm, "b_notion", "openai", Err("provider_mismatch")),
        // A binding id that exists nowhere.
        (&acme_crm, "b_nope", "openai", Err("unknown_binding")),
    ];
    for (key, binding, adapter, want) in rows {
        let got = resolve_connection(&db, key, &binding.parse().unwrap(), &p(adapter));
        let got = got.as_ref().map(|c| c.id().as_str()).map_err(ResolveConnectionError::code);
        assert_eq!(got, *want, "{binding} via {adapter} for {key:?}");
    }
    // A case-variant tenant is another tenant (SPEC §1: byte for byte).
    let acme_upper = KeyScope::tenant(t("Acme"));
    let got = resolve_connection(&db, &acme_upper, &"b_1".parse().unwrap(), &p("openai"));
    assert_eq!(got.map_err(|e| e.code()), Err("unknown_binding"));
}

/// Rows a buggy store could hand the proxy, checked directly.
#[test]
fn hostile_records_at_the_check() {
    let key = KeyScope::tenant(t("acme"));
    let stored = |tenant: &str, conn: &str| {
        Binding::from_stored("b".parse().unwrap(), t(tenant), "d".parse().unwrap(), conn.parse().unwrap())
    };
    let rows: &[(Binding, Connection, &str, Result<(), ConnectionDenied>)] = &[
        (stored("acme", "c"), c("c", "acme", "openai"), "openai", Ok(())),
        // A binding row of another tenant (a lookup forgot its filter).
        (stored("evil", "c"), c("c", "evil", "openai"), "openai", Err(ConnectionDenied::BindingTenant)),
        // A stale cache returned a different connection than the binding
        // names.
        (stored("acme", "c"), c("c2", "acme", "openai"), "openai", Err(ConnectionDenied::BindingConnection)),
        // The cross-tenant row the database refuses, written anyway (trigger
        // disabled): acme's binding naming evil's connection.
        (stored("acme", "c"), c("c", "evil", "openai"), "openai", Err(ConnectionDenied::ConnectionTenant)),
        // Case-variant tenant on the connection.
        (stored("acme", "c"), c("c", "Acme", "openai"), "openai", Err(ConnectionDenied::ConnectionTenant)),
        // Adapter confusion.
        (stored("acme", "c"), c("c", "acme", "openrouter"), "openai", Err(ConnectionDenied::Provider)),
    ];
    for (binding, conn, adapter, want) in rows {
        let got = check_connection_use(&key, binding, conn, &p(adapter)).map(drop);
        assert_eq!(got, *want, "{binding:?} / {conn:?}");
    }
    let codes = [
        ConnectionDenied::BindingTenant,
        ConnectionDenied::BindingDeployment,
        ConnectionDenied::BindingConnection,
        ConnectionDenied::ConnectionTenant,
        ConnectionDenied::Provider,
    ]
    .map(|d| d.code());
    let unique: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "denials must be distinct");
}

#[test]
fn regression_case_variant_tenant_cannot_bind() {
    // `Acme` and `acme` are two tenants; a lowercasing comparison anywhere
    // would let one bind the other's connection.
    let err = Binding::new("b".parse().unwrap(), &d("d", "acme"), &c("c", "Acme", "openai")).unwrap_err();
    assert_eq!(err.to_string(), "cross-tenant binding: deployment belongs to tenant acme, connection to tenant Acme");
}

#[test]
fn lookups_take_the_tenant_first() {
    // The trait has no by-id-only method: this compiles only with the
    // tenant as the first argument.
    fn by_tenant<L: TenantLookup>(l: &L, t: &TenantId, c: &ConnectionId) -> Option<Connection> {
        l.connection(t, c).ok().flatten()
    }
    let mut db = TenancyModel::new();
    db.insert_tenant(t("a")).unwrap();
    db.insert_tenant(t("b")).unwrap();
    db.insert_connection(c("c", "a", "openai")).unwrap();
    assert!(by_tenant(&db, &t("a"), &"c".parse().unwrap()).is_some());
    assert!(by_tenant(&db, &t("b"), &"c".parse().unwrap()).is_none());
}

/// Random writes against the model keep its invariant, and the model's
/// binding answers agree with `Binding::new` on the records it holds.
#[derive(Debug, Clone)]
enum Write {
    Bind(usize, usize, usize),
    Rebind(usize, usize, usize),
    Unbind(usize),
    MoveDeployment(usize, usize),
    MoveConnection(usize, usize),
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        3 => (0..6usize, 0..4usize, 0..4usize).prop_map(|(b, d, c)| Write::Bind(b, d, c)),
        2 => (0..6usize, 0..4usize, 0..4usize).prop_map(|(b, d, c)| Write::Rebind(b, d, c)),
        1 => (0..6usize).prop_map(Write::Unbind),
        1 => (0..4usize, 0..3usize).prop_map(|(d, t)| Write::MoveDeployment(d, t)),
        1 => (0..4usize, 0..3usize).prop_map(|(c, t)| Write::MoveConnection(c, t)),
    ]
}

proptest! {
    #[test]
    fn model_never_holds_a_cross_tenant_binding(
        owners in prop::collection::vec(0..3usize, 8),
        writes in prop::collection::vec(write(), 0..60),
    ) {
        let tenants = ["acme", "Acme", "t_b"];
        let mut db = TenancyModel::new();
        for x in tenants { db.insert_tenant(t(x)).unwrap(); }
        for i in 0..4 {
            db.insert_deployment(d(&format!("d{i}"), tenants[owners[i]])).unwrap();
            db.insert_connection(c(&format!("c{i}"), tenants[owners[i + 4]], "openai")).unwrap();
        }
        let bid = |i: usize| -> BindingId { format!("b{i}").parse().unwrap() };
        let did = |i: usize| -> DeploymentId { format!("d{i}").parse().unwrap() };
        let cid = |i: usize| -> ConnectionId { format!("c{i}").parse().unwrap() };
        for w in writes {
            let before = db.clone();
            let r = match w {
                Write::Bind(b, dd, cc) | Write::Rebind(b, dd, cc) => {
                    let dep = db.deployment(&did(dd)).cloned().unwrap();
                    let conn = db.connections().find(|x| x.id() == &cid(cc)).cloned().unwrap();
                    let direct = Binding::new(bid(b), &dep, &conn);
                    let r = if matches!(w, Write::Bind(..)) {
                        db.insert_binding(bid(b), &did(dd), &cid(cc))
                    } else {
                        db.update_binding(&bid(b), &did(dd), &cid(cc))
                    };
                    if let (Err(e), Ok(_)) = (&direct, &r) {
                        prop_assert!(false, "model bound what Binding::new refused: {e}");
                    }
                    r.map(drop)
                }
                Write::Unbind(b) => db.delete_binding(&bid(b)),
                Write::MoveDeployment(dd, tt) => db.move_deployment(&did(dd), t(tenants[tt])),
                Write::MoveConnection(cc, tt) => db.move_connection(&cid(cc), t(tenants[tt])),
            };
            prop_assert!(db.check_invariants().is_ok());
            // A refused write changes nothing.
            if r.is_err() { prop_assert_eq!(&db, &before); }
        }
    }
}
