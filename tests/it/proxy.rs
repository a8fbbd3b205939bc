//! A TCP proxy in front of the test Postgres that a test can stall, as in a network
//! partition: while stalled no byte moves either way on open connections and new
//! connections wait; on resume everything held flows again (so a COMMIT sent during the
//! stall lands after it).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Proxy {
    pub port: u16,
    stalled: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stalled.send_replace(false);
        self.accept.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `upstream`.
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (stalled, rx) = watch::channel(false);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, mut rx) = (upstream.clone(), rx.clone());
                tokio::spawn(async move {
                    flowing(&mut rx).await;
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    // No Nagle delay on top of Postgres's small messages.
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        pipe(client_read, server_write, rx.clone()),
                        pipe(server_read, client_write, rx),
                    );
                });
            }
        });
        Proxy {
            port,
            stalled,
            accept,
        }
    }

    pub fn stall(&self, on: bool) {
        self.stalled.send_replace(on);
    }

    /// `url` (a postgres:// URL) with its host:port replaced by the proxy's.
    pub fn route(&self, url: &str) -> String {
        let (scheme_user, rest) = url.rsplit_once('@').expect("url has user@host");
        let (_, path) = rest.split_once('/').expect("url has a database");
        format!("{scheme_user}@127.0.0.1:{}/{path}", self.port)
    }
}

/// The `host:port` a postgres:// URL points at.
pub fn host_port(url: &str) -> String {
    let (_, rest) = url.rsplit_once('@').expect("url has user@host");
    rest.split(['/', '?']).next().expect("host").to_string()
}

async fn flowing(rx: &mut watch::Receiver<bool>) {
    // A dropped sender means the proxy is gone: let the bytes go.
    let _ = rx.wait_for(|stalled| !*stalled).await;
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut rx: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        flowing(&mut rx).await;
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read during a stall: held until it ends.
        flowing(&mut rx).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
