//! Shared server plumbing: loopback-only listener, per-connection threads, clean shutdown.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Per-connection context handed to connection handlers.
#[derive(Clone)]
pub(crate) struct Ctx {
    stop: Arc<AtomicBool>,
}

impl Ctx {
    /// True once the owning handle has been dropped.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleep up to `d`, returning early (with `true`) if the server is stopping.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stopped() {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            thread::sleep((end - now).min(Duration::from_millis(10)));
        }
    }
}

/// Decrements the active-connection counter when a connection thread ends (or fails to spawn).
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Handler = Arc<dyn Fn(TcpStream, &Ctx) + Send + Sync>;

/// A clone of the connection's socket, shared so Drop can shut it down; the connection thread
/// empties the slot when it finishes so the socket really closes then.
type Slot = Arc<Mutex<Option<TcpStream>>>;

struct Conn {
    socket: Slot,
    thread: JoinHandle<()>,
}

/// A running TCP server; dropping it stops accepting, kills open connections and joins threads.
pub(crate) struct Core {
    addr: SocketAddr,
    active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Vec<Conn>>>,
}

/// Refuse anything that is not a loopback address: test peers must never listen elsewhere.
pub(crate) fn check_loopback(addr: SocketAddr) -> io::Result<()> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("testkit servers only listen on loopback, not {addr}"),
        ))
    }
}

impl Core {
    pub(crate) fn start(listen: SocketAddr, name: &str, handler: Handler) -> io::Result<Core> {
        check_loopback(listen)?;
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
        let ctx = Ctx { stop: stop.clone() };
        let active = Arc::new(AtomicUsize::new(0));
        let active2 = active.clone();
        let conns2 = conns.clone();
        let name = name.to_string();
        let accept_thread = thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || accept_loop(listener, ctx, conns2, active2, handler, name))?;
        Ok(Core {
            addr,
            active,
            stop,
            accept_thread: Some(accept_thread),
            conns,
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Wait until no connection is being served (all peers done), up to `timeout`.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.active.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    ctx: Ctx,
    conns: Arc<Mutex<Vec<Conn>>>,
    active: Arc<AtomicUsize>,
    handler: Handler,
    name: String,
) {
    while !ctx.stopped() {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                let socket: Slot = Arc::new(Mutex::new(stream.try_clone().ok()));
                let slot = socket.clone();
                let h = handler.clone();
                let c = ctx.clone();
                active.fetch_add(1, Ordering::SeqCst);
                let guard = ActiveGuard(active.clone());
                let spawned =
                    thread::Builder::new()
                        .name(format!("{name}-conn"))
                        .spawn(move || {
                            let _guard = guard; // decrements even if the handler panics
                            h(stream, &c);
                            if let Ok(mut s) = slot.lock() {
                                s.take();
                            }
                        });
                if let Ok(thread) = spawned {
                    if let Ok(mut list) = conns.lock() {
                        list.retain(|c| !c.thread.is_finished());
                        list.push(Conn { socket, thread });
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        let list = match self.conns.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        for c in &list {
            if let Ok(slot) = c.socket.lock() {
                if let Some(s) = slot.as_ref() {
                    let _ = s.shutdown(Shutdown::Both);
                }
            }
        }
        // Bounded wait: threads whose sockets are shut down finish promptly; never hang a test.
        let deadline = Instant::now() + Duration::from_secs(3);
        for c in list {
            while !c.thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if c.thread.is_finished() {
                let _ = c.thread.join();
            }
        }
    }
}

/// A stream that first yields already-buffered bytes, then reads from the inner stream.
pub(crate) struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(crate) fn new(prefix: Vec<u8>, inner: S) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: Read> Read for Prefixed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl<S: Write> Write for Prefixed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Largest request head we accept before giving up on a peer.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Read an HTTP request head (through the blank line). Returns (head, bytes read past the head).
pub(crate) fn read_head<S: Read>(s: &mut S) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed before end of request head",
            ));
        }
        let start = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf[start..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = start + i + 4;
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
}

/// A parsed request head.
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse_head(raw: &[u8]) -> Option<Head> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => Some(Head {
            method: req.method?.to_string(),
            target: req.path?.to_string(),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
        }),
        _ => None,
    }
}

/// Read one TLS record (e.g. the ClientHello) so a hostile peer can react "mid-handshake".
pub(crate) fn read_tls_record<S: Read>(s: &mut S) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 5];
    s.read_exact(&mut header)?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    let mut out = header.to_vec();
    out.extend(body);
    Ok(out)
}
