//! The AWS test servers (kms/aws/tests/server/aws_test_server.py: moto behind a TLS front that
//! checks signatures with botocore and injects faults, IMDS and container stand-ins), started
//! once per test binary, and boto3 / botocore as oracles (aws_oracle.py).
//!
//! The Python environment comes from `scripts/aws-test-env.sh` (`build/venv-aws`), or
//! `$NACOSCRYPT_AWS_PY`. Without it the tests say SKIPPED and pass, unless
//! `$NACOSCRYPT_REQUIRE_SERVERS` is set (as `make test` and CI do): then they fail.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use nacoscrypt_kms_aws::{AwsKms, AwsKmsBuilder, Env, RetryPolicy};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// The workspace root: the nearest folder above this crate with the `Cargo.lock`.
pub(crate) fn root() -> PathBuf {
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

/// The Python with moto and boto3, if there is one.
pub(crate) fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NACOSCRYPT_AWS_PY") {
        return Some(PathBuf::from(p));
    }
    let p = root().join("build/venv-aws/bin/python");
    p.exists().then_some(p)
}

/// The running servers.
pub(crate) struct Server {
    pub(crate) info: Value,
    _child: Mutex<(Child, ChildStdin)>,
    pub(crate) dir: PathBuf,
}

impl Server {
    pub(crate) fn get(&self, name: &str) -> String {
        self.info[name].as_str().unwrap().to_owned()
    }
    pub(crate) fn kms(&self) -> String {
        self.get("kms")
    }
    pub(crate) fn key(&self, alias: &str) -> String {
        self.info["keys"][alias].as_str().unwrap().to_owned()
    }
    pub(crate) fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.get("ca")).unwrap()
    }

    /// The variables of a client with the test server's static key (no other source set).
    pub(crate) fn static_env(&self) -> Env {
        Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", self.get("access_key_id")),
            ("AWS_SECRET_ACCESS_KEY", self.get("secret")),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ])
    }

    /// A builder for the front with `env`, fast retries.
    pub(crate) fn builder_with(&self, env: Env) -> AwsKmsBuilder {
        AwsKms::builder()
            .region("us-east-1")
            .endpoint(self.kms())
            .ca_pem(self.ca_pem())
            .environment(env)
            .default_key_id("alias/nacos")
            .retry(RetryPolicy {
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
                ..RetryPolicy::default()
            })
    }

    pub(crate) fn builder(&self) -> AwsKmsBuilder {
        self.builder_with(self.static_env())
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
        assert!(head.contains(" 200"), "control {path}: {answer}");
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
static SERIAL: Mutex<()> = Mutex::new(());

/// The servers (started on first use) and a guard that serializes the tests of this binary:
/// faults and the request log are global to the server. `None`: no Python environment here.
pub(crate) fn server() -> Option<(&'static Server, MutexGuard<'static, ()>)> {
    let guard = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = SERVER.get_or_init(start).as_ref()?;
    server.reset();
    Some((server, guard))
}

fn start() -> Option<Server> {
    let Some(py) = python() else {
        assert!(
            std::env::var_os("NACOSCRYPT_REQUIRE_SERVERS").is_none(),
            "no Python environment for the AWS test servers: run scripts/aws-test-env.sh"
        );
        println!(
            "SKIPPED: no Python environment for the AWS test servers (run scripts/aws-test-env.sh)"
        );
        return None;
    };
    let dir = std::env::temp_dir().join(format!("nacoscrypt-aws-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(py)
        .arg(root().join("kms/aws/tests/server/aws_test_server.py"))
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the AWS test server");
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).expect("the server's ready line");
    Some(Server {
        info,
        _child: Mutex::new((child, stdin)),
        dir,
    })
}

/// Runs an oracle command (boto3 / botocore) with `input`; its JSON answer.
pub(crate) fn oracle(command: &str, input: &Value) -> Value {
    let mut child = Command::new(python().unwrap())
        .arg(root().join("kms/aws/tests/server/aws_oracle.py"))
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
