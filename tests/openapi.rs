//! The OpenAPI description (`web/src/openapi.rs`): valid JSON, OpenAPI 3.1, and
//! describing every route the router serves except the dashboard's pages and its
//! stylesheet, so that an API route added without a `#[utoipa::path]` fails here.

mod support;

use serde_json::Value;

fn document() -> Value {
    let text = serde_json::to_string(&shiplog_web::openapi::document()).expect("serialises");
    serde_json::from_str(&text).expect("the document is valid JSON")
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Shiplog");
    for scheme in ["ingest_token", "read_token", "admin_token"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["scheme"], "bearer",
            "{scheme}"
        );
    }
}

#[test]
fn every_api_route_is_described() {
    let doc = document();
    let paths = doc["paths"].as_object().expect("paths");
    let mut described = 0;
    for route in shiplog_web::app::routes() {
        if route.page || route.path == "/static/shiplog.css" {
            continue;
        }
        let method = route.method.as_str().to_ascii_lowercase();
        assert!(
            paths.get(route.path).and_then(|p| p.get(&method)).is_some(),
            "{} {} is served but not in the OpenAPI document: add #[utoipa::path] to its handler and name it in openapi.rs",
            route.method,
            route.path
        );
        described += 1;
    }
    let operations: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert_eq!(
        operations, described,
        "the document describes operations the router does not serve"
    );
}

/// Every `$ref` names a schema the document holds (utoipa registers the bodies'
/// schemas itself, but a parameter's only when `openapi.rs` lists it).
#[test]
fn every_reference_resolves() {
    fn walk(value: &Value, doc: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    let pointer = target.strip_prefix('#').expect("a local reference");
                    assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
                }
                map.values().for_each(|v| walk(v, doc));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
            _ => {}
        }
    }
    let doc = document();
    walk(&doc, &doc);
}

#[tokio::test]
async fn the_server_serves_it() {
    let app = support::spawn_app(|_| {}).await;
    let (status, body) = app.get_text("/api/v1/openapi.json").await;
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).expect("valid JSON");
    assert_eq!(served, document());
    app.stop().await;
}
