//! A latency-adding TCP proxy, so a benchmark on loopback sees a link like a runner's to AWS:
//! every byte is held for `one_way` in each direction (a round trip of twice that), and a new
//! connection costs one round trip before its first byte moves, as TCP's handshake does.
//! Bandwidth is not limited: bytes are timestamped as they arrive and released in order when
//! their time comes, so a long upload streams. Listens on 127.0.0.1 only and forwards only to
//! the one upstream address it was given; it runs on its own runtime thread (the benchmark
//! blocks on child processes) and stops when dropped.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub(crate) struct LatencyProxy {
    /// `http://127.0.0.1:PORT`: the proxy's own address, in front of the upstream.
    pub endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LatencyProxy {
    /// `upstream` as a client `rtt_ms` away sees it: the address to use, and the proxy that
    /// adds the round trip (none at 0 ms; keep it alive while the address is used).
    pub(crate) fn in_front(
        upstream: &str,
        rtt_ms: u64,
    ) -> Result<(String, Option<Self>), Box<dyn std::error::Error>> {
        if rtt_ms == 0 {
            return Ok((upstream.to_owned(), None));
        }
        let p = Self::start(upstream, Duration::from_millis(rtt_ms) / 2)?;
        Ok((p.endpoint.clone(), Some(p)))
    }

    /// A proxy in front of `upstream` (`http://127.0.0.1:PORT`) adding `one_way` each direction.
    pub(crate) fn start(
        upstream: &str,
        one_way: Duration,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse()?;
        if !upstream.ip().is_loopback() {
            return Err(format!("latency proxy: upstream {upstream} is not on loopback").into());
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("latency-proxy".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => {
                                let Ok((client, _)) = accepted else { continue };
                                tokio::spawn(connection(client, upstream, one_way));
                            }
                        }
                    }
                });
                // Open connections end with the runtime.
                rt.shutdown_background();
            })?;
        Ok(Self {
            endpoint,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn connection(client: TcpStream, upstream: SocketAddr, one_way: Duration) {
    // The handshake's round trip: SYN out, SYN-ACK back.
    tokio::time::sleep(one_way * 2).await;
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    tokio::join!(delayed(cr, sw, one_way), delayed(sr, cw, one_way));
}

/// Copies `r` to `w`, each chunk written `delay` after it was read; end of stream is passed on
/// the same way (a half close).
async fn delayed(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = tx.send((Instant::now() + delay, Vec::new()));
    };
    let write = async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if bytes.is_empty() {
                break;
            }
            if w.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(read, write);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// An echo server on loopback for one connection.
    fn echo() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => s.write_all(&buf[..n]).unwrap(),
                }
            }
        });
        url
    }

    #[test]
    fn adds_the_handshake_and_each_direction_and_streams() {
        let one_way = Duration::from_millis(25);
        let proxy = LatencyProxy::start(&echo(), one_way).unwrap();
        let mut s =
            std::net::TcpStream::connect(proxy.endpoint.trim_start_matches("http://")).unwrap();
        let start = std::time::Instant::now();
        s.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        s.read_exact(&mut got).unwrap();
        let first = start.elapsed();
        assert_eq!(&got, b"ping");
        // Handshake round trip, then there and back.
        assert!(first >= one_way * 4, "{first:?}");
        assert!(
            first < one_way * 4 + Duration::from_millis(200),
            "{first:?}"
        );

        // 4 MiB each way: held one round trip, not one per chunk.
        let payload = vec![7u8; 4 << 20];
        let start = std::time::Instant::now();
        let mut w = s.try_clone().unwrap();
        let sent = payload.clone();
        let writer = std::thread::spawn(move || w.write_all(&sent).unwrap());
        let mut back = vec![0u8; payload.len()];
        s.read_exact(&mut back).unwrap();
        writer.join().unwrap();
        let took = start.elapsed();
        assert_eq!(back, payload);
        assert!(took >= one_way * 2, "{took:?}");
        assert!(took < one_way * 2 + Duration::from_secs(1), "{took:?}");
    }

    #[test]
    fn refuses_an_upstream_off_loopback() {
        assert!(LatencyProxy::start("http://10.0.0.1:80", Duration::ZERO).is_err());
    }
}
