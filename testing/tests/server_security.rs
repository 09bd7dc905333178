//! A secured bundled server: TLS, mutual TLS and an API key, with Reprise's client, the
//! official CLI and the official Python SDK; plaintext beyond loopback refused.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use reprise::client::{
    Client, ClientError, ClientOptions, RetryOptions, TlsOptions, WorkflowOptions,
};
use reprise_testing::server::{ServerError, ServerOptions, ServerTls, TestServer};
use std::path::PathBuf;
use std::process::Command;

/// PEM material of a test PKI: one CA, a server certificate for localhost/127.0.0.1, and a
/// client certificate, all signed by the CA; plus an unrelated CA's client certificate.
struct Pki {
    dir: PathBuf,
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    stranger_cert: String,
    stranger_key: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

fn leaf(names: &[&str], issuer: &CertifiedIssuer<'static, KeyPair>) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let cert = CertificateParams::new(names)
        .expect("params")
        .signed_by(&key, issuer)
        .expect("sign");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("reprise-pki-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("pki dir");
        let authority = ca("Reprise test CA");
        let (server_cert, server_key) = leaf(&["localhost", "127.0.0.1"], &authority);
        let (client_cert, client_key) = leaf(&["worker.reprise.test"], &authority);
        let stranger = ca("Some other CA");
        let (stranger_cert, stranger_key) = leaf(&["stranger.test"], &stranger);
        let pki = Pki {
            dir,
            ca: authority.pem(),
            server_cert,
            server_key,
            client_cert,
            client_key,
            stranger_cert,
            stranger_key,
        };
        for (file, pem) in [
            ("ca.pem", &pki.ca),
            ("client.pem", &pki.client_cert),
            ("client.key", &pki.client_key),
        ] {
            std::fs::write(pki.dir.join(file), pem).expect("write pem");
        }
        pki
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }
}

fn tls_options(pki: &Pki) -> TlsOptions {
    TlsOptions::new()
        .with_server_root_ca_pem(pki.ca.clone())
        .with_server_name("localhost")
}

/// Starts a workflow (no worker needed) and reads it back: a real round trip.
async fn round_trip(options: ClientOptions, id: &str) -> Result<(), ClientError> {
    // Refusals are not transient: no retries.
    let client = Client::connect(options.with_retry(RetryOptions::none())).await?;
    let handle = client
        .start_workflow("Secured", (), WorkflowOptions::new(id, "nobody-polls"))
        .await?;
    handle.describe().await?;
    Ok(())
}

fn cli(args: &[&str]) -> std::process::Output {
    let cli =
        std::env::var("TEMPORAL_CLI").expect("TEMPORAL_CLI is not set: run `. scripts/tools.sh`");
    Command::new(cli)
        .args(args)
        .env_remove("TEMPORAL_ADDRESS")
        .output()
        .expect("run the CLI")
}

fn python(args: &[&str]) -> std::process::Output {
    let python = std::env::var("REPRISE_PYTHON")
        .expect("REPRISE_PYTHON is not set: run `. scripts/tools.sh`");
    let script = format!("{}/tests/python/tls_client.py", env!("CARGO_MANIFEST_DIR"));
    Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("run python")
}

fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_reprise_the_cli_and_python_and_refuses_plaintext() {
    let pki = Pki::new("tls");
    let server = TestServer::start(ServerOptions::default().with_tls(ServerTls::new(
        pki.server_cert.clone(),
        pki.server_key.clone(),
    )))
    .await
    .expect("TLS server");
    let target = server.target();
    round_trip(
        ClientOptions::new(target.clone()).with_tls(tls_options(&pki)),
        "tls-1",
    )
    .await
    .expect("Reprise's client over TLS");
    let plaintext = round_trip(
        ClientOptions::new(target.clone()).with_connect_timeout(std::time::Duration::from_secs(3)),
        "tls-plain",
    )
    .await;
    assert!(
        plaintext.is_err(),
        "a plaintext client must not get through"
    );
    let untrusted = round_trip(
        ClientOptions::new(target.clone()).with_tls(
            TlsOptions::new()
                .with_server_root_ca_pem(pki.stranger_cert.clone())
                .with_server_name("localhost"),
        ),
        "tls-untrusted",
    )
    .await;
    assert!(
        untrusted.is_err(),
        "a server certificate the client does not trust"
    );

    let listed = cli(&[
        "workflow",
        "describe",
        "--workflow-id",
        "tls-1",
        "--address",
        &target,
        "--tls-ca-path",
        &pki.path("ca.pem"),
        "--tls-server-name",
        "localhost",
    ]);
    assert_ok(&listed, "temporal workflow describe over TLS");
    assert!(String::from_utf8_lossy(&listed.stdout).contains("Secured"));
    let py = python(&[&target, &pki.path("ca.pem")]);
    assert_ok(&py, "the Python SDK over TLS");
    assert!(String::from_utf8_lossy(&py.stdout).starts_with("OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_admits_only_clients_with_a_certificate_of_its_ca() {
    let pki = Pki::new("mtls");
    let server = TestServer::start(
        ServerOptions::default().with_tls(
            ServerTls::new(pki.server_cert.clone(), pki.server_key.clone())
                .with_client_ca(pki.ca.clone()),
        ),
    )
    .await
    .expect("mTLS server");
    let target = server.target();
    round_trip(
        ClientOptions::new(target.clone()).with_tls(
            tls_options(&pki).with_client_cert_pem(pki.client_cert.clone(), pki.client_key.clone()),
        ),
        "mtls-1",
    )
    .await
    .expect("a client with a certificate of the CA");
    let anonymous = round_trip(
        ClientOptions::new(target.clone()).with_tls(tls_options(&pki)),
        "mtls-anonymous",
    )
    .await;
    assert!(anonymous.is_err(), "a client without a certificate");
    let stranger = round_trip(
        ClientOptions::new(target.clone()).with_tls(
            tls_options(&pki)
                .with_client_cert_pem(pki.stranger_cert.clone(), pki.stranger_key.clone()),
        ),
        "mtls-stranger",
    )
    .await;
    assert!(stranger.is_err(), "a client certificate of another CA");

    let tls_args = [
        "--address",
        &target,
        "--tls-ca-path",
        &pki.path("ca.pem"),
        "--tls-server-name",
        "localhost",
    ];
    let mut with_cert: Vec<&str> = vec!["workflow", "describe", "--workflow-id", "mtls-1"];
    with_cert.extend(tls_args);
    let cert_path = pki.path("client.pem");
    let key_path = pki.path("client.key");
    with_cert.extend(["--tls-cert-path", &cert_path, "--tls-key-path", &key_path]);
    assert_ok(&cli(&with_cert), "temporal with a client certificate");
    let mut without: Vec<&str> = vec!["workflow", "describe", "--workflow-id", "mtls-1"];
    without.extend(tls_args);
    assert!(
        !cli(&without).status.success(),
        "the CLI without a client certificate"
    );

    let ca_path = pki.path("ca.pem");
    assert_ok(
        &python(&[&target, &ca_path, "--cert", &cert_path, "--key", &key_path]),
        "the Python SDK with a client certificate",
    );
    assert!(
        !python(&[&target, &ca_path]).status.success(),
        "Python without a certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_is_required_of_every_client() {
    let pki = Pki::new("apikey");
    let server = TestServer::start(
        ServerOptions::default()
            .with_tls(ServerTls::new(
                pki.server_cert.clone(),
                pki.server_key.clone(),
            ))
            .with_api_key("k-123"),
    )
    .await
    .expect("server with an API key");
    let target = server.target();
    let options = || ClientOptions::new(target.clone()).with_tls(tls_options(&pki));
    round_trip(options().with_api_key("k-123"), "key-1")
        .await
        .expect("the right key");
    for (key, id) in [(None, "key-none"), (Some("k-124"), "key-wrong")] {
        let mut o = options();
        if let Some(k) = key {
            o = o.with_api_key(k);
        }
        let refused = round_trip(o, id).await;
        let text = format!("{refused:?}");
        assert!(
            refused.is_err() && text.contains("nauthenticated"),
            "key {key:?}: {text}"
        );
    }
    let ca_path = pki.path("ca.pem");
    let base = [
        "workflow",
        "describe",
        "--workflow-id",
        "key-1",
        "--address",
        &target,
        "--tls-ca-path",
        &ca_path,
        "--tls-server-name",
        "localhost",
    ];
    let mut with_key = base.to_vec();
    with_key.extend(["--api-key", "k-123"]);
    assert_ok(&cli(&with_key), "temporal --api-key");
    assert!(!cli(&base).status.success(), "the CLI without the key");
    assert_ok(
        &python(&[&target, &ca_path, "--api-key", "k-123"]),
        "the Python SDK with the key",
    );
    assert!(
        !python(&[&target, &ca_path, "--api-key", "nope"])
            .status
            .success(),
        "Python with a wrong key"
    );
}

#[tokio::test]
async fn plaintext_beyond_loopback_is_refused_before_binding() {
    // Refused before any socket is bound (nothing listens beyond loopback in this test).
    let exposed = TestServer::start(
        ServerOptions::default().with_address("0.0.0.0:0".parse().expect("address")),
    )
    .await;
    match exposed {
        Err(ServerError::InvalidOption(message)) => {
            assert!(message.contains("without TLS"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Starts the `reprise-server` binary with `args`; its listening address once ready.
fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise-server"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start reprise-server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let address = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    (child, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_tls_with_an_api_key_and_refuses_exposed_plaintext() {
    let pki = Pki::new("binary");
    for (file, pem) in [
        ("server.pem", &pki.server_cert),
        ("server.key", &pki.server_key),
    ] {
        std::fs::write(pki.dir.join(file), pem).expect("write pem");
    }
    let (cert, key) = (pki.path("server.pem"), pki.path("server.key"));
    let (mut child, address) = spawn_binary(&[
        "--address",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--api-key",
        "bin-key",
    ]);
    let options = || ClientOptions::new(address.clone()).with_tls(tls_options(&pki));
    round_trip(options().with_api_key("bin-key"), "bin-1")
        .await
        .expect("TLS and the key");
    assert!(round_trip(options(), "bin-2").await.is_err(), "no key");
    let _ = child.kill();
    let _ = child.wait();

    // Plaintext on every interface: refused before binding, with a message saying why.
    let refused = Command::new(env!("CARGO_BIN_EXE_reprise-server"))
        .args(["--address", "0.0.0.0:0"])
        .output()
        .expect("run reprise-server");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("without TLS") && stderr.contains("--insecure"),
        "{stderr}"
    );
}
