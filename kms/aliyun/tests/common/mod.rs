//! The loopback test servers (kms/aliyun/tests/server/aliyun_test_server.py), started once per
//! test binary, and the official SDKs' oracle (oracle.py).
//!
//! The Python environment comes from `scripts/aliyun-test-env.sh` (`build/venv-aliyun`), or
//! `$NACOSCRYPT_ALIYUN_PY`. Without it the tests say SKIPPED and pass, unless
//! `$NACOSCRYPT_REQUIRE_SERVERS` is set (as `make test` and CI do): then they fail.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

pub(crate) const AK: &str = "LTAI5tTestAccessKeyId";
pub(crate) const SECRET: &str = "TestAccessKeySecret0123456789abc";

/// The workspace root: the nearest folder above this crate with the `Cargo.lock`.
fn root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() {
        assert!(
            dir.pop(),
            "no Cargo.lock above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// The Python with the OpenAPI server's dependencies, if there is one.
pub(crate) fn python() -> Option<PathBuf> {
    venv_python("NACOSCRYPT_ALIYUN_PY", "build/venv-aliyun/bin/python")
}

/// The Python with the instance API server's dependencies (scripts/aliyun-instance-test-env.sh).
pub(crate) fn instance_python() -> Option<PathBuf> {
    venv_python(
        "NACOSCRYPT_ALIYUN_INSTANCE_PY",
        "build/venv-dkms/bin/python",
    )
}

fn venv_python(var: &str, default: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let p = root().join(default);
    p.exists().then_some(p)
}

/// The running servers.
pub(crate) struct Server {
    pub(crate) info: Value,
    _child: Mutex<(Child, ChildStdin)>,
    _dir: PathBuf,
}

impl Server {
    pub(crate) fn kms(&self) -> String {
        self.info["kms"].as_str().unwrap().to_owned()
    }
    pub(crate) fn get(&self, name: &str) -> String {
        self.info[name].as_str().unwrap().to_owned()
    }
    pub(crate) fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.get("ca")).unwrap()
    }
    pub(crate) fn other_ca_pem(&self) -> String {
        std::fs::read_to_string(self.get("other_ca")).unwrap()
    }

    /// A control call: `method path` with a JSON body; the JSON answer.
    pub(crate) fn control(&self, method: &str, path: &str, body: &Value) -> Value {
        let url = self.get("control");
        let hostport = url.trim_start_matches("http://");
        let mut s = TcpStream::connect(hostport).unwrap();
        let body = body.to_string();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.") && head.contains(" 200"),
            "control {path}: {answer}"
        );
        serde_json::from_str(body).unwrap()
    }

    pub(crate) fn reset(&self) {
        self.control("POST", "/reset", &json!({}));
    }

    pub(crate) fn faults(&self, faults: Value) {
        self.control("POST", "/faults", &faults);
    }

    pub(crate) fn requests(&self) -> Vec<Value> {
        self.control("GET", "/requests", &json!({}))["requests"]
            .as_array()
            .unwrap()
            .clone()
    }
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static INSTANCE_SERVER: OnceLock<Option<Server>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// The servers (started on first use) and a guard that serializes the tests of this binary:
/// faults and the request log are global to the server. `None`: no Python environment here.
pub(crate) fn server() -> Option<(&'static Server, MutexGuard<'static, ()>)> {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = SERVER
        .get_or_init(|| start(python(), "aliyun_test_server.py"))
        .as_ref()?;
    server.reset();
    Some((server, guard))
}

/// The KMS instance API test server (instance_test_server.py), like [`server`].
pub(crate) fn instance_server() -> Option<(&'static Server, MutexGuard<'static, ()>)> {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = INSTANCE_SERVER
        .get_or_init(|| start(instance_python(), "instance_test_server.py"))
        .as_ref()?;
    server.reset();
    Some((server, guard))
}

fn start(python: Option<PathBuf>, script: &str) -> Option<Server> {
    let Some(py) = python else {
        assert!(
            std::env::var_os("NACOSCRYPT_REQUIRE_SERVERS").is_none(),
            "no Python environment for the Alibaba Cloud KMS test server: run scripts/aliyun-test-env.sh"
        );
        println!(
            "SKIPPED: no Python environment for the test server (run scripts/aliyun-test-env.sh)"
        );
        return None;
    };
    let dir = std::env::temp_dir().join(format!(
        "nacoscrypt-{}-{}",
        script.trim_end_matches(".py"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(py)
        .arg(root().join("kms/aliyun/tests/server").join(script))
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the test server");
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).expect("the server's ready line");
    Some(Server {
        info,
        _child: Mutex::new((child, stdin)),
        _dir: dir,
    })
}

/// Runs an oracle command (the official SDKs) with `input`; its JSON answer.
pub(crate) fn oracle(command: &str, input: &Value) -> Value {
    run_oracle(python().unwrap(), "oracle.py", command, input)
}

/// Runs an instance oracle command (the official dkms-gcs and transfer SDKs).
pub(crate) fn instance_oracle(command: &str, input: &Value) -> Value {
    run_oracle(
        instance_python().unwrap(),
        "instance_oracle.py",
        command,
        input,
    )
}

fn run_oracle(py: PathBuf, script: &str, command: &str, input: &Value) -> Value {
    let mut child = Command::new(py)
        .arg(root().join("kms/aliyun/tests/server").join(script))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "oracle {command}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
