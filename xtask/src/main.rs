//! The project's two entry points, so that a fresh machine with only rustup
//! and cargo needs exactly one command for each:
//!
//! - `cargo xtask run [-- SERVER OPTIONS]`: installs what is missing, builds
//!   the browser app in release mode and starts the server.
//! - `cargo xtask test`: installs what the tests need (a real Chromium and
//!   axe-core for the accessibility audit, PostgreSQL, Redis and an S3
//!   server included), checks formatting and
//!   lints, builds the app and runs every test, the one-file release
//!   binary's included.
//! - `cargo xtask cluster [-- SERVER OPTIONS]`: like `run`, but two nodes
//!   (127.0.0.1:8765 and :8766) sharing a throwaway PostgreSQL and Redis,
//!   one chat across both (see `cluster.rs`).
//! - `cargo xtask dist`: the one-file release: the server in release mode
//!   with the browser app built in, copied to `target/dist/chat-server`.
//! - `cargo xtask bench [-- --scale F --only NAMES --no-write]`: the load
//!   scenarios against the chat server and the reference server, one table
//!   written into docs/benchmarks.md (see `bench.rs`); with `--cluster
//!   [--baseline CHAT_SERVER]`, the cluster suite instead
//!   (`bench/cluster.rs`).
//!
//! Every tool is pinned: the wasm-bindgen CLI must match the `wasm-bindgen`
//! crate in Cargo.lock exactly, and trunk must never download anything.

mod bench;
mod cluster;
#[path = "../../server/precompress.rs"]
mod precompress;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// trunk 0.22 needs a newer rustc than these machines have.
const TRUNK_VERSION: &str = "0.21.14";
/// binaryen 116; Debian's older wasm-opt produces a blank page.
const WASM_OPT_CRATE_VERSION: &str = "0.116.1";
const WASM_OPT_REPORTED_VERSION: &str = "version 116";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The server's socket suites about what clients see, which the test
/// command runs a second time with every server a two-node cluster
/// (`CHAT_TEST_SETUP=cluster`, see `server/tests/common`). The others are
/// about one process (its metrics, limits, files, binary, TLS) or start
/// clusters of their own (`cluster.rs`).
const CLUSTER_SUITES: &[&str] = &[
    "chat",
    "files",
    "search",
    "actions",
    "presence",
    "errors",
    "heartbeat",
    "moderation",
    "properties",
    "rate_limits",
    "slow_reader",
    "origin",
    "security_headers",
    "join_code",
    "people",
    "attention",
    "web_push",
    "rooms",
    "health",
    "proxy_headers",
    "idle_http",
    "names",
];

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run_chat(&args[1..]),
        Some("cluster") => cluster::cluster(&args[1..]),
        Some("test") => run_tests(),
        Some("dist") => make_dist(),
        Some("bench") => bench::bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask run [-- SERVER OPTIONS] | cargo xtask cluster [-- SERVER OPTIONS] | cargo xtask test | cargo xtask dist | cargo xtask bench [-- --scale F --only NAMES --no-write --cluster --baseline CHAT_SERVER]"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_chat(server_args: &[String]) -> Result {
    let root = workspace_root();
    prepare_build_tools(&root)?;
    build_app(&root)?;
    let server_args = server_args.iter().skip_while(|arg| *arg == "--");
    let mut command = cargo(&root);
    command
        .args(["run", "--release", "--package", "chat-server", "--"])
        .arg("--static-dir")
        .arg(root.join("dist"))
        .args(server_args);
    run(&mut command)
}

fn run_tests() -> Result {
    let root = workspace_root();
    prepare_build_tools(&root)?;
    ensure_browser()?;
    ensure_engines()?;
    ensure_s3_server()?;
    ensure_axe(&root)?;
    step("checking formatting");
    run(cargo(&root).args(["fmt", "--all", "--check"]))?;
    step("linting the server, shared crate and tests");
    run(cargo(&root).args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
    step("checking that the fuzz target still compiles (on stable, without sanitizers)");
    run(cargo(&root).args(["check", "--locked", "--manifest-path", "fuzz/Cargo.toml"]))?;
    step("linting the browser app and its shared crate for wasm32");
    run(cargo(&root).args([
        "clippy",
        "--package",
        "chat-frontend",
        "--package",
        "chat-shared",
        "--target",
        WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;
    build_app(&root)?;
    // Only now: the feature builds dist/ into the server.
    step("linting the server with the app built in (--features embed)");
    run(cargo(&root).args([
        "clippy",
        "--package",
        "chat-server",
        "--all-targets",
        "--features",
        "embed",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("running every test (unit, socket, browser)");
    run(cargo(&root).arg("test"))?;
    step("running the chat's socket suites again on a two-node cluster (PostgreSQL + Redis)");
    let suites = CLUSTER_SUITES.iter().flat_map(|suite| ["--test", suite]);
    run(cargo(&root)
        .args(["test", "--package", "chat-server"])
        .args(suites)
        .env("CHAT_TEST_SETUP", "cluster"))?;
    step("running the browser app's unit tests on the host");
    run(cargo(&root).args(["test", "--package", "chat-frontend"]))?;
    let binary = build_dist_binary(&root)?;
    step("testing the one-file binary alone in an empty folder");
    run(cargo(&root)
        .args([
            "test",
            "--package",
            "chat-server",
            "--test",
            "dist_binary",
            "--",
            "--ignored",
        ])
        .env("CHAT_DIST_BINARY", &binary))
}

/// The one-file release: a fresh app build inside a release server.
fn make_dist() -> Result {
    let root = workspace_root();
    prepare_build_tools(&root)?;
    build_app(&root)?;
    let binary = build_dist_binary(&root)?;
    let bytes = std::fs::metadata(&binary)
        .map_err(|error| format!("cannot read {}: {error}", binary.display()))?
        .len();
    println!(
        "{}: {bytes} bytes ({:.1} MiB). Copy it to the server and start it; see README, \"One binary\".",
        binary.display(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// Builds the release server with the `embed` feature from the `dist/`
/// that [`build_app`] wrote, and copies it to `target/dist/`, where it is
/// the only file, so nothing else gets shipped by mistake.
fn build_dist_binary(root: &Path) -> Result<PathBuf> {
    step("building the server with the app built in (release, --features embed)");
    run(cargo(root)
        .args([
            "build",
            "--release",
            "--package",
            "chat-server",
            "--features",
            "embed",
        ])
        // The app just built, not a folder named in the caller's shell.
        .env_remove("CHAT_EMBED_DIST"))?;
    let name = format!("chat-server{}", env::consts::EXE_SUFFIX);
    let target = target_dir(root);
    let built = target.join("release").join(&name);
    let dist = target.join("dist");
    std::fs::create_dir_all(&dist)
        .map_err(|error| format!("cannot create {}: {error}", dist.display()))?;
    let copy = dist.join(&name);
    std::fs::copy(&built, &copy).map_err(|error| {
        format!(
            "cannot copy {} to {}: {error}",
            built.display(),
            copy.display()
        )
    })?;
    Ok(copy)
}

/// Where cargo puts its output: `CARGO_TARGET_DIR` (a relative one from
/// the workspace root, where xtask runs cargo) or `target/`.
fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

/// The wasm target, trunk, wasm-bindgen-cli and wasm-opt at pinned versions,
/// and every crate downloaded so trunk's offline build finds it.
fn prepare_build_tools(root: &Path) -> Result {
    ensure_cxx_compiler()?;
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|line| line.trim() == WASM_TARGET) {
        step("adding the wasm32 target");
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }

    let bindgen_version = locked_wasm_bindgen_version(root)?;
    check_trunk_pin(root, &bindgen_version)?;
    ensure_tool(
        "wasm-bindgen",
        &format!("wasm-bindgen {bindgen_version}"),
        &["install", "wasm-bindgen-cli", "--version", &bindgen_version],
    )?;
    ensure_tool(
        "trunk",
        &format!("trunk {TRUNK_VERSION}"),
        &["install", "--locked", &format!("trunk@{TRUNK_VERSION}")],
    )?;
    ensure_tool(
        "wasm-opt",
        WASM_OPT_REPORTED_VERSION,
        &[
            "install",
            "--locked",
            &format!("wasm-opt@{WASM_OPT_CRATE_VERSION}"),
        ],
    )?;
    step("fetching crates (trunk builds offline)");
    run(cargo(root).arg("fetch"))
}

fn build_app(root: &Path) -> Result {
    step("building the browser app (trunk, release)");
    run(Command::new("trunk")
        .args(["build", "--release"])
        .current_dir(root)
        .env("PATH", path_with_cargo_bin()))?;
    step("compressing the app's files once (brotli 11, gzip 9)");
    precompress_dir(&root.join("dist"))
}

/// Writes `NAME.br` and `NAME.gz` beside each compressible file in `dir`
/// (trunk's output), where the server's `--static-dir` mode finds and sends
/// them as they are, rather than compressing the wasm for every visitor at
/// a faster, larger setting. A variant that saves nothing is not written.
fn precompress_dir(dir: &Path) -> Result {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|error| format!("cannot list {}: {error}", dir.display()))?
            .path();
        if path.is_dir() {
            precompress_dir(&path)?;
            continue;
        }
        let name = path.to_string_lossy();
        if precompress::is_variant(&path)
            || !precompress::compressible(precompress::content_type(&name))
        {
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        for (suffix, compress) in precompress::VARIANTS {
            let compressed = compress(&bytes)
                .map_err(|error| format!("cannot compress {name} ({suffix}): {error}"))?;
            if compressed.len() < bytes.len() {
                let mut target = path.clone().into_os_string();
                target.push(format!(".{suffix}"));
                let target = PathBuf::from(target);
                std::fs::write(&target, compressed)
                    .map_err(|error| format!("cannot write {}: {error}", target.display()))?;
            }
        }
    }
    Ok(())
}

/// Installs `tool` with `cargo <install_args>` unless `tool --version`
/// already prints `expected`.
fn ensure_tool(tool: &str, expected: &str, install_args: &[&str]) -> Result {
    let current = Command::new(tool)
        .arg("--version")
        .env("PATH", path_with_cargo_bin())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
        .unwrap_or_default();
    if current.contains(expected) {
        return Ok(());
    }
    step(&format!(
        "installing {tool} ({expected}); this compiles for a few minutes, once"
    ));
    run(Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(install_args))
}

/// wasm-opt builds binaryen from C++ source.
fn ensure_cxx_compiler() -> Result {
    if Command::new("c++").arg("--version").output().is_ok() {
        return Ok(());
    }
    apt_install(
        &["build-essential"],
        "a C++ compiler (Debian: build-essential)",
    )
}

/// Debian's chromium and chromium-driver for the browser tests, with an
/// emoji font so the reactions in their screenshots are not empty boxes.
fn ensure_browser() -> Result {
    let have = |tool: &str| Command::new(tool).arg("--version").output().is_ok();
    if have("chromium") && have("chromedriver") {
        return Ok(());
    }
    apt_install(
        &["chromium", "chromium-driver", "fonts-noto-color-emoji"],
        "Chromium and ChromeDriver (Debian: chromium chromium-driver fonts-noto-color-emoji)",
    )
}

/// Debian's PostgreSQL 15 and Redis 7.0, which the chat-engines crate starts
/// throwaway instances of for the tests.
fn ensure_engines() -> Result {
    let have_postgres = Path::new("/usr/lib/postgresql/15/bin/postgres").is_file();
    let have_redis = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if have_postgres && have_redis {
        return Ok(());
    }
    apt_install(
        &["postgresql", "redis-server"],
        "PostgreSQL 15 and Redis (Debian: postgresql redis-server)",
    )
}

/// `s3s-fs`, the S3 server the file storage tests run against (see
/// `chat_engines::S3`), from crates.io at the version the engines crate
/// pins: about five CPU-minutes of compiling, once (9 minutes wall on two
/// busy cores).
fn ensure_s3_server() -> Result {
    let version = chat_engines::S3S_FS_VERSION;
    ensure_tool(
        "s3s-fs",
        &format!("s3s-fs {version}"),
        &[
            "install",
            "--locked",
            &format!("s3s-fs@{version}"),
            "--features",
            "binary",
        ],
    )
}

/// axe-core for the browser tests' accessibility audit, at the exact
/// version `e2e/package.json` pins, installed by `npm ci` into
/// `e2e/node_modules` (npm from Debian if there is none).
fn ensure_axe(root: &Path) -> Result {
    let e2e = root.join("e2e");
    let manifest = std::fs::read_to_string(e2e.join("package.json"))
        .map_err(|error| format!("cannot read e2e/package.json: {error}"))?;
    let pinned = json_string_after(&manifest, "\"axe-core\"")
        .ok_or("e2e/package.json does not pin axe-core")?;
    let installed = std::fs::read_to_string(e2e.join("node_modules/axe-core/package.json"))
        .ok()
        .and_then(|package| json_string_after(&package, "\"version\""));
    let has_script = e2e.join("node_modules/axe-core/axe.min.js").is_file();
    if has_script && installed.as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        apt_install(&["nodejs", "npm"], "Node.js and npm (Debian: nodejs npm)")?;
    }
    step(&format!("installing axe-core {pinned} (npm ci in e2e/)"));
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&e2e))
}

/// The string value that follows `key` and a colon in a JSON text: enough
/// for the two fields read from npm's files, without a JSON parser.
fn json_string_after(json: &str, key: &str) -> Option<String> {
    let rest = &json[json.find(key)? + key.len()..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn apt_install(packages: &[&str], what: &str) -> Result {
    let is_root = output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let has_apt = Command::new("apt-get").arg("--version").output().is_ok();
    if !(is_root && has_apt) {
        return Err(format!(
            "{what} is missing; install it (for example `sudo apt-get install -y {}`) and run this again",
            packages.join(" ")
        ));
    }
    step(&format!("installing {}", packages.join(" ")));
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must be the same.
fn locked_wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|error| format!("cannot read Cargo.lock: {error}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|next| next.trim().strip_prefix("version = "))
            {
                return Ok(version.trim_matches('"').to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// trunk checks the CLI against its own pin; keep it equal to Cargo.lock.
fn check_trunk_pin(root: &Path, bindgen_version: &str) -> Result {
    let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml"))
        .map_err(|error| format!("cannot read Trunk.toml: {error}"))?;
    let pin = format!("wasm_bindgen = \"{bindgen_version}\"");
    if trunk_toml.contains(&pin) {
        Ok(())
    } else {
        Err(format!(
            "Trunk.toml must pin `{pin}` to match the wasm-bindgen crate in Cargo.lock"
        ))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo in the workspace, without incremental caches: the xtask commands
/// build each crate once (CI builds from a clean clone), and the caches
/// cost gigabytes of disk for no gain there. An edit-rebuild loop with
/// plain `cargo` keeps them.
fn cargo(root: &Path) -> Command {
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .env("PATH", path_with_cargo_bin())
        .env("CARGO_INCREMENTAL", "0");
    command
}

/// PATH with cargo's install folder first, so tools installed a moment ago
/// are found even where the shell's PATH lacks it.
fn path_with_cargo_bin() -> std::ffi::OsString {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut paths: Vec<PathBuf> = cargo_home
        .map(|home| home.join("bin"))
        .into_iter()
        .collect();
    paths.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    env::join_paths(paths).unwrap_or_default()
}

fn step(what: &str) {
    eprintln!("\n==> {what}");
}

fn run(command: &mut Command) -> Result {
    let status = command
        .status()
        .map_err(|error| format!("cannot start {}: {error}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(command)))
    }
}

fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .map_err(|error| format!("cannot start {}: {error}", describe(command)))?;
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program()];
    words.extend(command.get_args());
    words
        .iter()
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::json_string_after;

    #[test]
    fn reads_the_pinned_and_the_installed_axe_version() {
        let manifest = "{\n  \"dependencies\": {\n    \"axe-core\": \"4.14.1\"\n  }\n}";
        assert_eq!(
            json_string_after(manifest, "\"axe-core\""),
            Some("4.14.1".into())
        );
        let package = "{\"name\":\"axe-core\",\"version\":\"4.14.1\"}";
        assert_eq!(
            json_string_after(package, "\"version\""),
            Some("4.14.1".into())
        );
        assert_eq!(json_string_after(package, "\"license\""), None);
    }
}
