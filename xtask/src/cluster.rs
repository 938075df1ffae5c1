//! `cargo xtask cluster [-- SERVER OPTIONS]`: a two-node cluster on this
//! machine, for trying by hand what people on different nodes see of each
//! other. Both nodes share a throwaway PostgreSQL (the history) and a
//! throwaway Redis (the bus and presence) from `chat-engines`, so nothing
//! this starts outlives it: Ctrl-C, or either node exiting, stops the other
//! node and then the engines.

use std::env;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::sleep;
use std::time::{Duration, Instant};

use chat_engines::{Postgres, Redis};

use crate::{
    build_app, cargo, ensure_engines, prepare_build_tools, run, step, target_dir, workspace_root,
    Result,
};

/// Where the two nodes listen: `cargo xtask run`'s port and the next one.
const NODE_ADDRS: [&str; 2] = ["127.0.0.1:8765", "127.0.0.1:8766"];

/// How long a node may take to start listening; a release build starts in
/// well under a second, so this only catches a node that hangs.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a node's graceful shutdown may take before it is killed: a
/// little more than the server's own default `--shutdown-timeout` (10 s).
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// One `chat-server` process of the cluster.
struct Node {
    /// Its listening address, to name it in messages.
    addr: &'static str,
    process: Child,
}

pub(crate) fn cluster(server_args: &[String]) -> Result {
    let root = workspace_root();
    prepare_build_tools(&root)?;
    ensure_engines()?;
    build_app(&root)?;
    step("building the server (release)");
    run(cargo(&root).args(["build", "--release", "--package", "chat-server"]))?;
    let server = target_dir(&root)
        .join("release")
        .join(format!("chat-server{}", env::consts::EXE_SUFFIX));

    // Set before anything starts, so that a Ctrl-C during the start-up
    // still gets here and stops what did start, rather than killing us
    // with the nodes half up.
    let (ctrl_c, stop_requested) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = ctrl_c.send(());
    })
    .map_err(|error| format!("cannot handle Ctrl-C: {error}"))?;

    step("starting a throwaway PostgreSQL and Redis");
    let postgres = Postgres::start()?;
    let database = postgres.create_database()?;
    let redis = Redis::start()?;

    step("starting two nodes");
    let server_args: Vec<&String> = server_args.iter().skip_while(|arg| *arg == "--").collect();
    let mut nodes = Vec::new();
    let mut outcome = Ok(());
    for addr in NODE_ADDRS {
        let started = Command::new(&server)
            .args(["--addr", addr])
            .arg("--static-dir")
            .arg(root.join("dist"))
            .args(["--database", &database, "--redis", &redis.url()])
            .args(&server_args)
            .current_dir(&root)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", server.display()));
        match started {
            Ok(process) => nodes.push(Node { addr, process }),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    if outcome.is_ok() {
        outcome = nodes.iter_mut().try_for_each(wait_until_listening);
    }
    if outcome.is_ok() {
        print_how_to_use(&database, &redis.url());
        outcome = wait_for_ctrl_c_or_an_exit(&mut nodes, &stop_requested);
    }
    eprintln!("\n==> stopping the nodes, then PostgreSQL and Redis");
    // Every node is stopped, and every failure told, even after one failed.
    let mut failures: Vec<String> = outcome.err().into_iter().collect();
    // All are asked first, so their shutdowns overlap rather than add up.
    for node in nodes.iter_mut() {
        if exit_status(node).is_ok_and(|status| status.is_none()) {
            send_sigterm(node.process.id());
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    failures.extend(
        nodes
            .iter_mut()
            .filter_map(|node| wait_until_stopped(node, deadline).err()),
    );
    // The engines go last: a node shutting down still talks to them.
    drop(redis);
    drop(postgres);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\nxtask: "))
    }
}

/// Waits until `node` accepts connections, so the URLs printed next work.
fn wait_until_listening(node: &mut Node) -> Result {
    let addr: SocketAddr = node
        .addr
        .parse()
        .map_err(|error| format!("bad node address {}: {error}", node.addr))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = exit_status(node)? {
            return Err(format!("the node on {} exited ({status})", node.addr));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the node on {} is not listening after {START_TIMEOUT:?}",
                node.addr
            ));
        }
        sleep(Duration::from_millis(100));
    }
}

fn print_how_to_use(database: &str, redis: &str) {
    let urls: Vec<String> = NODE_ADDRS
        .iter()
        .map(|addr| format!("    http://{addr}/"))
        .collect();
    eprintln!(
        "\n==> a two-node cluster is running, one chat:\n\n{}\n\n    \
         Open one URL in each browser (or window): what is said, who is online\n    \
         and who is typing cross from one node to the other.\n    \
         History in {database}, bus and presence in {redis}\n    \
         (both throwaway).\n\n    \
         Ctrl-C stops both nodes, PostgreSQL and Redis.\n",
        urls.join("\n")
    );
}

/// Returns `Ok` on Ctrl-C and an error naming the node when one exits by
/// itself: then the cluster is no longer what was printed.
fn wait_for_ctrl_c_or_an_exit(nodes: &mut [Node], ctrl_c: &Receiver<()>) -> Result {
    loop {
        match ctrl_c.recv_timeout(Duration::from_millis(200)) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        for node in nodes.iter_mut() {
            if let Some(status) = exit_status(node)? {
                // A Ctrl-C reaches the nodes too (same terminal), and one
                // may have exited between our two looks.
                if ctrl_c.try_recv().is_ok() {
                    return Ok(());
                }
                return Err(format!("the node on {} exited ({status})", node.addr));
            }
        }
    }
}

/// Waits until `node` has exited, killing it at `deadline`; an error if it
/// did not end cleanly.
fn wait_until_stopped(node: &mut Node, deadline: Instant) -> Result {
    let status = loop {
        if let Some(status) = exit_status(node)? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = node.process.kill();
            let _ = node.process.wait();
            return Err(format!(
                "the node on {} did not stop within {STOP_TIMEOUT:?} and was killed",
                node.addr
            ));
        }
        sleep(Duration::from_millis(50));
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("the node on {} failed ({status})", node.addr))
    }
}

fn exit_status(node: &mut Node) -> Result<Option<ExitStatus>> {
    node.process
        .try_wait()
        .map_err(|error| format!("cannot check the node on {}: {error}", node.addr))
}

/// Asks a node to stop gracefully, as `docker stop` would, through the
/// shell's `kill`: std only sends SIGKILL, which would skip the
/// node's graceful shutdown, and `unsafe` (libc) is not allowed here.
fn send_sigterm(pid: u32) {
    let sent = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &pid.to_string()])
        .status();
    if let Err(error) = sent {
        eprintln!("xtask: cannot run sh to stop process {pid}: {error}");
    }
}
