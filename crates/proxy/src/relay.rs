//! Copying one proxied TCP connection both ways, with half-close.
//!
//! docker-proxy's broker (libnetwork `cmd/proxy/tcp_proxy.go`) runs, for
//! each direction, `io.Copy(to, from); from.CloseRead(); to.CloseWrite()`,
//! and closes both sockets once both directions are done. So a FIN from one
//! side becomes a FIN to the other side while the opposite direction keeps
//! flowing; an error in one direction shuts that direction down the same way.
//!
//! Memory: an idle connection holds no buffer. Data is read into one
//! per-thread buffer and written straight on; only bytes the receiver could
//! not take yet are copied into a per-direction backlog, which is freed once
//! written (docker-proxy gets the same effect from splice(2)).

use std::cell::RefCell;
use std::io::{self, ErrorKind};
use std::net::Shutdown;

use socket2::SockRef;
use tokio::net::TcpStream;

/// Size of the per-thread read buffer.
const BUF_SIZE: usize = 256 * 1024;

thread_local! {
    static BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; BUF_SIZE].into_boxed_slice());
}

/// Bytes moved in each direction once a connection is finished.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub client_to_backend: u64,
    pub backend_to_client: u64,
}

/// Relays between `client` and `backend` until both directions are done.
pub async fn relay(client: &TcpStream, backend: &TcpStream) -> Moved {
    let up = async {
        let n = pump(client, backend).await;
        half_close(client, backend);
        n
    };
    let down = async {
        let n = pump(backend, client).await;
        half_close(backend, client);
        n
    };
    let (up, down) = tokio::join!(up, down);
    Moved {
        client_to_backend: up,
        backend_to_client: down,
    }
}

/// `from.CloseRead(); to.CloseWrite()`: shutdown(SHUT_RD) on the source
/// and shutdown(SHUT_WR) on the sink, which sends the FIN. Errors (the
/// socket may already be reset) are ignored, as docker-proxy ignores them.
fn half_close(from: &TcpStream, to: &TcpStream) {
    let _ = SockRef::from(from).shutdown(Shutdown::Read);
    let _ = SockRef::from(to).shutdown(Shutdown::Write);
}

enum Step {
    Eof,
    Again,
    Moved(usize),
}

/// `io.Copy(to, from)`: copies until EOF or an error on either socket and
/// returns the number of bytes written to `to`.
async fn pump(from: &TcpStream, to: &TcpStream) -> u64 {
    let mut total = 0u64;
    let mut backlog: Vec<u8> = Vec::new();
    loop {
        if from.readable().await.is_err() {
            return total;
        }
        let step = BUF.with(|b| -> io::Result<Step> {
            let mut buf = b.borrow_mut();
            let n = match from.try_read(&mut buf[..]) {
                Ok(0) => return Ok(Step::Eof),
                Ok(n) => n,
                Err(e) if is_retry(&e) => return Ok(Step::Again),
                Err(e) => return Err(e),
            };
            let mut off = 0;
            while off < n {
                match to.try_write(&buf[off..n]) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(k) => off += k,
                    Err(e) if is_retry(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            backlog.extend_from_slice(&buf[off..n]);
            Ok(Step::Moved(off))
        });
        match step {
            Ok(Step::Eof) | Err(_) => return total,
            Ok(Step::Again) => continue,
            Ok(Step::Moved(n)) => total += n as u64,
        }
        // The sink is full: write the rest before reading more (backpressure).
        let mut off = 0;
        while off < backlog.len() {
            if to.writable().await.is_err() {
                return total;
            }
            match to.try_write(&backlog[off..]) {
                Ok(0) => return total,
                Ok(k) => {
                    off += k;
                    total += k as u64;
                }
                Err(e) if is_retry(&e) => {}
                Err(_) => return total,
            }
        }
        if !backlog.is_empty() {
            backlog = Vec::new();
        }
    }
}

fn is_retry(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted)
}
