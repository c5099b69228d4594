//! The input path from raw bytes: a real HTTP/1.1 parser (hyper) reads the
//! hostile request off the wire, and `strip` runs on what it produced. This
//! pins that spellings the parser keeps (`_`, `.`, upper case) are the ones
//! the stripper removes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![allow(missing_docs)]

#[path = "support/reference.rs"]
mod reference;

use reference::is_managed_name;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vendo_isolation::headers::{Identity, StripReport, strip};

type Seen = Arc<Mutex<Option<(HeaderMap, StripReport)>>>;

/// Serves one raw request; returns the headers as stripped and injected,
/// and the report.
async fn serve_raw(request: &'static [u8]) -> (HeaderMap, StripReport) {
    let seen: Seen = Arc::default();
    let (client, server) = tokio::io::duplex(1 << 16);
    let sink = Arc::clone(&seen);
    let svc = service_fn(move |mut req: Request<Incoming>| {
        let sink = Arc::clone(&sink);
        async move {
            let id = Identity::for_tests(
                "t_1".parse().unwrap(),
                "d_1".parse().unwrap(),
                "u_1".parse().unwrap(),
                "a@b.io".parse().unwrap(),
            );
            let report = strip(req.headers_mut(), "__Host-vendo_session").inject(id, None).unwrap();
            *sink.lock().unwrap() = Some((req.headers().clone(), report));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), svc);
    let server = tokio::spawn(conn);
    let mut client = client;
    client.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 1024];
        while !buf.ends_with(b"ok") {
            let n = client.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    });
    read.await.expect("response in time");
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(buf.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf));
    seen.lock().unwrap().take().expect("request reached the service")
}

#[tokio::test(flavor = "current_thread")]
async fn raw_request_spellings_are_stripped() {
    // oauth2-proxy GHSA-vjrc-mh2v-45x6 (`_`), Traefik GHSA-rf44-j88r-hh8c
    // (`.`) and GHSA-qr99-7898-vr7c (case), Fabio GHSA-q7p4-7xjv-j3wf
    // (`Connection`), all in one request as a client would send it.
    let (headers, report) = serve_raw(
        b"GET /a HTTP/1.1\r\n\
          Host: acme-crm.vendo.run\r\n\
          X-VENDO-USER-ID: victim\r\n\
          X_Vendo_Tenant_Id: t_victim\r\n\
          x.vendo.user.email: victim@x.io\r\n\
          X-Vendo-Attestation: v1.k.1.forged\r\n\
          Connection: keep-alive, X-Vendo-User-Id\r\n\
          Cookie: __Host-vendo_session=v1.k.p.m; theme=dark\r\n\
          \r\n",
    )
    .await;
    let managed: Vec<_> = headers.iter().filter(|(n, _)| is_managed_name(n.as_str().as_bytes())).collect();
    assert_eq!(managed.len(), 4, "only the four injected headers: {managed:?}");
    assert_eq!(headers["x-vendo-user-id"], "u_1");
    assert_eq!(headers["x-vendo-tenant-id"], "t_1");
    assert_eq!(headers["x-vendo-user-email"], "a@b.io");
    assert_eq!(headers["connection"], "keep-alive");
    assert_eq!(headers["cookie"], "theme=dark");
    let mut removed: Vec<_> = report.removed_headers().iter().map(|n| n.as_str()).collect();
    removed.sort_unstable();
    assert_eq!(removed, ["x-vendo-attestation", "x-vendo-user-id", "x.vendo.user.email", "x_vendo_tenant_id"]);
    assert_eq!(report.removed_connection_tokens(), ["X-Vendo-User-Id"]);
    assert!(report.session_cookie_removed());
}
