//! Dispatch cost of a small method, network excluded: decode params, run
//! the handler, encode the result, through `Router::call`.

use criterion::{Criterion, criterion_group, criterion_main};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use wirecall_core::{Conn, Router, RpcError, websocket_rpc};

#[derive(Deserialize, JsonSchema)]
struct AddParams {
    a: i64,
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

#[websocket_rpc("math.add")]
async fn add(_conn: &Conn, p: AddParams) -> Result<Sum, RpcError> {
    Ok(Sum { sum: p.a + p.b })
}

fn dispatch(c: &mut Criterion) {
    let router = Router::global().unwrap();
    let conn = Conn::builder().user("bench").client("c1").build();
    let params = RawValue::from_string(r#"{"a":40,"b":2}"#.to_owned()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    c.bench_function("router.call math.add", |b| {
        b.iter(|| {
            let reply = runtime.block_on(router.call(conn.clone(), "math.add", Some(&params)));
            assert_eq!(reply.unwrap().get(), r#"{"sum":42}"#);
        })
    });
    c.bench_function("router.call unknown method", |b| {
        b.iter(|| {
            runtime
                .block_on(router.call(conn.clone(), "math.nope", None))
                .unwrap_err()
        })
    });
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
