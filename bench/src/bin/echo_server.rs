//! A raw tokio-tungstenite echo server: the transport's own limit, for
//! comparison with wirecall over the same loopback.
//!
//! Binds 127.0.0.1 on a free port, prints `READY <port>`, and sends every
//! text or binary message back unchanged; exits at the end of stdin. Socket
//! settings follow wirecall's (`rpc-server/src/server.rs` `upgrade()`): Nagle
//! left on, 1 KiB read buffer, 64 KiB message limit. A client asking for a
//! subprotocol (`centrifuge-protobuf`) gets it, so the Protobuf workload
//! runs against it too. Like wirecall, which
//! joins queued replies into one message, it writes everything that is
//! already readable in one go (feed each message, flush once);
//! `--flush-each` writes each message on its own instead.

use clap::Parser;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};

#[derive(Parser)]
#[command(about = "A raw WebSocket echo server on 127.0.0.1")]
struct Args {
    /// Write each echoed message at once (no write batching).
    #[arg(long)]
    flush_each: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("READY {}", listener.local_addr()?.port());
    let flush_each = args.flush_each;
    let accepting = async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(async move {
                        let _ = echo(stream, flush_each).await;
                    });
                }
                // Out of descriptors and the like: keep serving the others.
                Err(error) => eprintln!("accept failed: {error}"),
            }
        }
    };
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut sink = Vec::new();
    tokio::select! {
        () = accepting => {}
        _ = stdin.read_to_end(&mut sink) => {}
    }
    Ok(())
}

async fn echo(stream: TcpStream, flush_each: bool) -> Result<(), WsError> {
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(if flush_each { 0 } else { 64 * 1024 })
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024));
    let mut ws = accept_hdr_async_with_config(stream, accept_subprotocol, Some(config)).await?;
    while let Some(message) = ws.next().await {
        if !echo_one(&mut ws, message?).await? {
            return Ok(());
        }
        if !flush_each {
            // Whatever has already arrived goes out in the same write.
            while let Some(Some(message)) = ws.next().now_or_never() {
                if !echo_one(&mut ws, message?).await? {
                    return Ok(());
                }
            }
        }
        ws.flush().await?;
    }
    Ok(())
}

/// Answers the subprotocol a client asks for with the same. (The
/// signature is tungstenite's callback's.)
#[allow(clippy::result_large_err)]
fn accept_subprotocol(
    request: &Request,
    mut response: Response,
) -> Result<Response, ErrorResponse> {
    if let Some(asked) = request.headers().get("sec-websocket-protocol") {
        response
            .headers_mut()
            .insert("sec-websocket-protocol", asked.clone());
    }
    Ok(response)
}

/// Queues the echo of `message`; false once the peer closed.
async fn echo_one(ws: &mut WebSocketStream<TcpStream>, message: Message) -> Result<bool, WsError> {
    match message {
        Message::Text(_) | Message::Binary(_) => ws.feed(message).await.map(|()| true),
        Message::Close(_) => Ok(false),
        // tungstenite answers pings itself.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(true),
    }
}
