//! A binary that runs anywhere (issue 9): the policy library, the plan library and the demo
//! data are built into `kechuang`, so a copy of it works away from the source checkout.
//!
//! The built binary is copied into a fresh temporary directory outside the repository and run
//! there, with that directory as its working directory and without cargo's environment
//! (`CARGO_MANIFEST_DIR` and the rest). Where the machine allows a private mount namespace
//! (`unshare --mount`, as root or through a user namespace), the checkout itself is hidden from
//! the copy under an empty tmpfs, so any read of the source tree at run time fails. Where it
//! does not, a loud banner says so, and the other checks still run: the binary must not name a
//! directory of the checkout, and its output must equal a run on the checkout's files.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A temporary directory outside the repository, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `kechuang serve`, killed at the end even if the test fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How the copy is run: `unshare` arguments that hide the checkout, or `None`.
fn hiding(root: &Path) -> Option<Vec<&'static str>> {
    for prefix in [
        vec!["--mount"],
        vec!["--user", "--map-root-user", "--mount"],
    ] {
        let ok = Command::new("unshare")
            .args(&prefix)
            .args([
                "sh",
                "-c",
                r#"mount -t tmpfs none "$0" && test ! -e "$0/Cargo.toml""#,
            ])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(prefix);
        }
    }
    None
}

struct Copy {
    dir: PathBuf,
    bin: PathBuf,
    root: PathBuf,
    hide: Option<Vec<&'static str>>,
}

impl Copy {
    /// The copied binary with `args`, cwd the scratch directory, no cargo environment, and
    /// the checkout hidden where possible.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = match &self.hide {
            Some(prefix) => {
                let mut c = Command::new("unshare");
                c.args(prefix)
                    .args(["sh", "-c", r#"mount -t tmpfs none "$0" && exec "$@""#])
                    .arg(&self.root)
                    .arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        c.args(args).current_dir(&self.dir);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("CARGO") {
                c.env_remove(k);
            }
        }
        c.env_remove("RUST_LOG");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .output()
            .expect("run the copied kechuang");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "copied `kechuang {}` failed ({}):\n{stdout}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

/// The binary in place, run from the checkout on its files (`--policies`, `--plans`).
fn in_checkout(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kechuang"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run kechuang");
    assert!(out.status.success(), "kechuang {}: {out:?}", args.join(" "));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn count(dir: &str, ext: &str) -> usize {
    std::fs::read_dir(root().join(dir))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == ext)
        })
        .count()
}

/// One HTTP/1.1 request over a fresh connection: (status, headers, body).
fn http(addr: &str, req: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[test]
fn a_copied_binary_runs_away_from_the_checkout() {
    let root = root();
    let dir = std::env::temp_dir()
        .canonicalize()
        .unwrap()
        .join(format!("kechuang-copied-{}", std::process::id()));
    assert!(
        !dir.starts_with(&root),
        "the temporary directory {} must lie outside the checkout {}",
        dir.display(),
        root.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir.clone());
    let bin = dir.join("kechuang");
    std::fs::copy(env!("CARGO_BIN_EXE_kechuang"), &bin).unwrap();
    std::fs::copy(
        root.join("examples/hunnan-enterprise.json"),
        dir.join("applicant.json"),
    )
    .unwrap();

    // The binary names no directory of the checkout: `env!("CARGO_MANIFEST_DIR")` or a path
    // into `policies/`, `plans/` or `data/` would show here.
    let bytes = std::fs::read(&bin).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let prefix = format!("{}/", root.display());
    for (at, _) in text.match_indices(&prefix) {
        let rest = &text[at + prefix.len()..];
        for sub in ["policies", "plans", "data", "crates/library", "crates/cli"] {
            assert!(
                !rest.starts_with(sub),
                "the binary contains the path {prefix}{sub}"
            );
        }
    }

    let hide = hiding(&root);
    if hide.is_none() {
        eprintln!(
            "\n**************** PARTLY SKIPPED ****************\n\
             cannot hide the checkout from the copied binary (`unshare --mount` is not \
             permitted here); it runs with the checkout visible, from {}\n\
             ************************************************\n",
            dir.display()
        );
    }
    let copy = Copy {
        dir: dir.clone(),
        bin,
        root: root.clone(),
        hide,
    };

    // The policy library: the same diagnostics, listing and coverage as the checkout's files,
    // with the same relative paths.
    let check = copy.run(&["check"]);
    let files = format!("通过 ok: {} 个文件 files", count("policies", "md"));
    assert!(check.contains(&files), "{check}");
    assert_eq!(check, in_checkout(&["check", "policies"]));
    let list = copy.run(&["list"]);
    assert!(list.contains("hitech_first"), "{list}");
    assert_eq!(list, in_checkout(&["list", "--policies", "policies"]));
    let coverage = copy.run(&["coverage"]);
    assert!(coverage.contains("(100%)"), "{coverage}");
    assert_eq!(
        coverage,
        in_checkout(&["coverage", "--policies", "policies"])
    );

    // An evaluation of a copied example, given by a path relative to the new working directory.
    let eval = copy.run(&["eval", "--input", "applicant.json", "--format", "json"]);
    assert!(eval.contains("hitech_first"), "{eval}");
    assert_eq!(
        eval,
        in_checkout(&[
            "eval",
            "--input",
            "examples/hunnan-enterprise.json",
            "--format",
            "json",
            "--policies",
            "policies"
        ])
    );

    // The plan library.
    let status = copy.run(&["plan", "status", "--date", "2024-06-30"]);
    assert!(status.contains("指标 indicators"), "{status}");
    assert_eq!(
        status,
        in_checkout(&["plan", "status", "--date", "2024-06-30", "--plans", "plans"])
    );
    let plans = copy.run(&["plan", "check"]);
    assert!(
        plans.contains(&format!("{} 个文件 files", count("plans", "md"))),
        "{plans}"
    );

    // The platform on a fresh SQLite file, with the demo data loaded on first start.
    let mut child = copy
        .command(&["serve", "--addr", "127.0.0.1:0", "--database", "fresh.db"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the copied kechuang serve");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx2.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut log = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "the copied kechuang serve did not start:\n{}",
                    log.join("\n")
                )
            });
        log.push(line.clone());
        if let Some(a) = line.split("serving at http://").nth(1) {
            break a.trim().to_string();
        }
    };
    let log = log.join("\n");
    let demo = format!(
        "演示数据 demo data: {} applicants loaded",
        count("data/demo", "json")
    );
    assert!(log.contains(&demo), "{log}");
    assert!(log.contains("管理员账号 admin account: admin / "), "{log}");
    assert!(
        dir.join("fresh.db").is_file(),
        "the database file was not created"
    );

    let (code, _, body) = http(
        &addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("科创"), "{body}");

    // A demo applicant's account exists and sees its own record.
    let login = r#"{"user":"demo01","password":"demo-kechuang"}"#;
    let (code, head, body) = http(
        &addr,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert_eq!(code, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    let applicant = j["applicant"].as_str().expect("demo01 is an applicant");
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l["set-cookie:".len()..].trim())
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let (code, _, body) = http(
        &addr,
        &format!(
            "GET /api/applicants/{applicant} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
             Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(code, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        !j["events"].as_array().unwrap().is_empty(),
        "the demo applicant has its events: {body}"
    );

    // The plans page is served from the embedded plan library, to the plan office (an
    // applicant may not see it).
    let (code, _, _) = http(
        &addr,
        &format!(
            "GET /plans HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(code, 403);
    let login = r#"{"user":"planner","password":"demo-kechuang"}"#;
    let (code, head, body) = http(
        &addr,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert_eq!(code, 200, "{body}");
    let planner = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l["set-cookie:".len()..].trim())
        })
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let (code, _, body) = http(
        &addr,
        &format!(
            "GET /plans HTTP/1.1\r\nHost: {addr}\r\nCookie: {planner}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("计划与目标"), "{body}");

    drop(server);
    drop(scratch);
}
