//! The small things every engine needs: a scratch directory, a free port, a
//! random name, where its binary is, and who we are running as.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// What to run when an engine's binaries are missing; every such error says it.
pub const INSTALL_HINT: &str = "apt-get install -y postgresql redis-server";

/// `count` random bytes as lowercase hex, for directory and database names
/// that must not collide between test binaries running at the same time.
pub(crate) fn random_hex(count: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; count];
    fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|error| format!("cannot read /dev/urandom: {error}"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// A fresh directory under the system temp dir, named after the engine, our
/// pid and a random suffix so concurrent test binaries never share one.
/// Mode 755 so an engine running as another user can reach inside it.
pub(crate) fn make_scratch_dir(engine: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let name = format!(
        "chat-engines-{engine}-{}-{}",
        std::process::id(),
        random_hex(6)?
    );
    let dir = std::env::temp_dir().join(name);
    fs::create_dir(&dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|error| format!("cannot chmod {}: {error}", dir.display()))?;
    Ok(dir)
}

/// A loopback port nobody listens on right now. The engine binds it a moment
/// later, so another process may win it in between: callers retry.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|error| format!("cannot bind 127.0.0.1:0 to find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| format!("cannot read the port bound on 127.0.0.1:0: {error}"))
}

/// How often a port is tried before giving up: another process can take the
/// free port between our probe and the engine binding it.
const PORT_ATTEMPTS: usize = 3;

/// Calls `launch` with a free loopback port, and again with another while it
/// fails, [`PORT_ATTEMPTS`] times at most; returns the last error.
pub(crate) fn on_a_free_port(
    mut launch: impl FnMut(u16) -> Result<(), String>,
) -> Result<(), String> {
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        match launch(free_port()?) {
            Ok(()) => return Ok(()),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// The directories an engine's binary may be in: PATH, then
/// `$CARGO_HOME/bin` or `~/.cargo/bin` (for one installed with `cargo
/// install`), which a test run started outside a login shell may not have on
/// PATH.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    dirs.extend(cargo_home.map(|home| home.join("bin")));
    dirs
}

/// Whether `program` is an executable file in one of [`search_dirs`].
pub(crate) fn on_path(program: &str) -> bool {
    search_dirs().iter().any(|dir| dir.join(program).is_file())
}

/// The first `program` in [`search_dirs`], or the bare name for the
/// spawn error to report.
pub(crate) fn program_path(program: &str) -> PathBuf {
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(program))
}

/// The uid and gid to run PostgreSQL as, or `None` to run it as ourselves.
///
/// PostgreSQL refuses to run as root, and tests here run as root, so as root
/// we switch to the `postgres` user the Debian package creates. Anyone else
/// can run it directly.
pub(crate) fn postgres_identity() -> Result<Option<(u32, u32)>, String> {
    if !running_as_root()? {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd")
        .map_err(|error| format!("cannot read /etc/passwd: {error}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                ["postgres", _, uid, gid, ..] => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
        .map(Some)
        .ok_or_else(|| {
            format!("there is no `postgres` user to run PostgreSQL as (it refuses root); {INSTALL_HINT}")
        })
}

/// Whether our effective uid is 0, from /proc (std has no getuid).
fn running_as_root() -> Result<bool, String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|error| format!("cannot read /proc/self/status: {error}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .map(|effective| effective == "0")
        .ok_or_else(|| "no Uid line in /proc/self/status".to_string())
}

/// Hands `path` to the engine's user, if it runs as someone else.
pub(crate) fn give_to(path: &Path, identity: Option<(u32, u32)>) -> Result<(), String> {
    match identity {
        Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .map_err(|error| format!("cannot chown {}: {error}", path.display())),
        None => Ok(()),
    }
}
