//! The accept loop: the server's axum router on hyper, with what a server
//! on the public internet needs and `axum::serve` leaves out: a deadline
//! for a request's headers (a client that opens TCP and trickles a request
//! line, or never sends one, is closed), a pause after accept errors (out
//! of file descriptors) instead of a busy loop, and graceful shutdown of
//! the HTTP connections.

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

/// Serves `app` on `listener` until `stop`; then waits for the HTTP
/// connections to finish (upgraded WebSocket connections are the
/// sessions', which the server shuts down itself).
pub(crate) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    stop: CancellationToken,
    header_timeout: Duration,
) -> io::Result<()> {
    // HTTP/1.1 only: the WebSocket upgrade and the API need nothing else,
    // and there is no protocol sniffing to hang on.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // The peer gave up before we took it: nothing to do.
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::error!(%error, "accept failed; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let mut app = app.clone();
            // The peer's address, where axum's ConnectInfo looks for it.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            async move {
                let response: Result<Response<Body>, Infallible> =
                    app.call(request.map(Body::new)).await;
                response
            }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let stop = stop.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stop.cancelled() => {
                    // Finish the request in progress, then close.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
