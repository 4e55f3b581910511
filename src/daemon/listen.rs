//! Listeners: the Unix socket (placed atomically with its mode and group already set, stale
//! files removed) and the optional loopback TCP listener, plus the peer credentials attached to
//! each connection.

use super::DaemonError;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use axum::serve::Listener;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How a peer reached the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// The Unix socket; the kernel vouches for the peer's uid/gid/pid (`SO_PEERCRED`).
    Unix,
    /// Loopback TCP; the peer is any local process, identity unknown.
    Tcp,
}

impl Transport {
    /// `unix` or `tcp`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Unix => "unix",
            Transport::Tcp => "tcp",
        }
    }
}

/// The peer of one connection, attached to every request on it (axum `ConnectInfo`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The transport.
    pub transport: Transport,
    /// The peer's effective uid (Unix socket only).
    pub uid: Option<u32>,
    /// The peer's effective gid (Unix socket only).
    pub gid: Option<u32>,
    /// The peer's process id (Unix socket only, where the OS reports it).
    pub pid: Option<i32>,
    /// The peer's address (TCP only).
    pub addr: Option<SocketAddr>,
}

impl Connected<IncomingStream<'_, Capped<UnixListener>>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, Capped<UnixListener>>) -> Self {
        let cred = stream.io().io.peer_cred().ok();
        PeerInfo {
            transport: Transport::Unix,
            uid: cred.map(|c| c.uid()),
            gid: cred.map(|c| c.gid()),
            pid: cred.and_then(|c| c.pid()),
            addr: None,
        }
    }
}

impl Connected<IncomingStream<'_, Capped<TcpListener>>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, Capped<TcpListener>>) -> Self {
        PeerInfo {
            transport: Transport::Tcp,
            uid: None,
            gid: None,
            pid: None,
            addr: Some(*stream.remote_addr()),
        }
    }
}

/// A listener that holds at most `max` connections open at once: past that it stops accepting
/// (new peers wait in the kernel's backlog) until a connection closes, so idle or slow peers
/// cannot exhaust the daemon's file descriptors (`daemon.max_connections`, shared by the Unix
/// and TCP listeners).
pub(crate) struct Capped<L> {
    inner: L,
    permits: Arc<Semaphore>,
}

impl<L> Capped<L> {
    /// Wraps `inner`, drawing one permit of `permits` per open connection.
    pub(crate) fn new(inner: L, permits: Arc<Semaphore>) -> Self {
        Self { inner, permits }
    }
}

impl<L: Listener> Listener for Capped<L>
where
    L::Io: Unpin,
{
    type Io = CappedIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.permits.clone().acquire_owned().await.ok();
        let (io, addr) = self.inner.accept().await;
        (
            CappedIo {
                io,
                _permit: permit,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection of a [`Capped`] listener: its permit is released when it closes.
pub(crate) struct CappedIo<I> {
    pub(crate) io: I,
    _permit: Option<OwnedSemaphorePermit>,
}

impl<I: AsyncRead + Unpin> AsyncRead for CappedIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for CappedIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The socket file this daemon created, identified by device and inode so that shutdown removes
/// only its own file (never a successor's).
#[derive(Debug)]
pub(crate) struct SocketFile {
    pub(crate) path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    /// Removes the file if it is still the one this daemon created.
    pub(crate) fn remove(&self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if m.dev() == self.dev && m.ino() == self.ino {
                if let Err(e) = std::fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the socket file");
                }
            }
        }
    }
}

/// Binds the Unix socket at `path` with `mode` (permission bits) and `group` (a name or a
/// numeric gid).
///
/// The socket is bound inside a fresh private directory (mode 0700) next to `path`, given its
/// mode and group there, then renamed into place, so no other user can connect during the short
/// window before the permissions are set. A stale socket file at `path` is removed; a live one
/// (another daemon answers) or a file that is not a socket is an error.
///
/// # Errors
/// [`DaemonError::Socket`] naming the path and the problem.
pub(crate) fn bind_unix(
    path: &Path,
    mode: u32,
    group: Option<&str>,
) -> Result<(UnixListener, SocketFile), DaemonError> {
    let fail = |problem: String| DaemonError::Socket {
        path: path.to_path_buf(),
        problem,
    };
    let gid = group.map(resolve_group).transpose().map_err(fail)?;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(fail(
                    "another process is listening on this socket".to_string(),
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| fail(format!("cannot remove the stale socket file: {e}")))?;
            tracing::info!(path = %path.display(), "removed a stale socket file");
        }
        Ok(_) => return Err(fail(
            "a file that is not a socket is in the way; remove it or choose another daemon.socket"
                .to_string(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(format!("cannot inspect: {e}"))),
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(fail(format!(
            "the directory {} does not exist (create it, for example with systemd RuntimeDirectory=saslgate)",
            parent.display()
        )));
    }
    let private = parent.join(format!(
        ".saslgate-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(|e| fail(format!("cannot create {}: {e}", private.display())))?;
    let result = (|| {
        let tmp = private.join("s");
        let std_listener = std::os::unix::net::UnixListener::bind(&tmp)
            .map_err(|e| format!("cannot bind: {e}"))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set mode {mode:o}: {e}"))?;
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&tmp, None, Some(gid))
                .map_err(|e| format!("cannot give the socket to group {gid}: {e}"))?;
        }
        std::fs::rename(&tmp, path)
            .map_err(|e| format!("cannot move the socket into place: {e}"))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot make the socket non-blocking: {e}"))?;
        let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot inspect: {e}"))?;
        let listener =
            UnixListener::from_std(std_listener).map_err(|e| format!("cannot register: {e}"))?;
        Ok((
            listener,
            SocketFile {
                path: path.to_path_buf(),
                dev: meta.dev(),
                ino: meta.ino(),
            },
        ))
    })();
    let _ = std::fs::remove_dir_all(&private);
    result.map_err(fail)
}

/// Binds the TCP listener (the configuration check already refused non-loopback addresses
/// unless `[danger] allow_tcp_non_loopback`).
///
/// # Errors
/// [`DaemonError::Tcp`] naming the address.
pub(crate) async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, DaemonError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| DaemonError::Tcp { addr, source })
}

/// A group name or numeric gid → gid.
fn resolve_group(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("daemon.socket_group: no group is named {group:?}")),
        Err(e) => Err(format!(
            "daemon.socket_group: cannot look up group {group:?}: {e}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_numeric_gid_without_lookup() {
        assert_eq!(resolve_group("4242"), Ok(4242));
    }

    #[test]
    fn names_an_unknown_group() {
        let err = resolve_group("no-such-group-saslgate").expect_err("unknown group");
        assert_eq!(
            err,
            "daemon.socket_group: no group is named \"no-such-group-saslgate\""
        );
    }

    #[tokio::test]
    async fn replaces_a_stale_socket_and_sets_the_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).expect("bind stale"));
        let (listener, file) = bind_unix(&path, 0o660, None).expect("binds over a stale socket");
        let meta = std::fs::metadata(&path).expect("socket exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        assert!(std::fs::read_dir(dir.path()).expect("list").all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with(".saslgate-")));
        drop(listener);
        file.remove();
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn refuses_a_live_socket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.sock");
        let _live = std::os::unix::net::UnixListener::bind(&path).expect("bind live");
        let err = bind_unix(&path, 0o660, None).expect_err("live socket");
        assert!(
            err.to_string().contains("another process is listening"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn refuses_to_remove_a_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("d.sock");
        std::fs::write(&path, b"x").expect("write");
        let err = bind_unix(&path, 0o660, None).expect_err("regular file");
        assert!(err.to_string().contains("not a socket"), "{err}");
    }
}
