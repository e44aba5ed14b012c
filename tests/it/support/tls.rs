//! TLS in front of a mock host, with a CA made for the test, and a CONNECT proxy that records
//! what passes through it.

use super::MockHost;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A test CA and a certificate for 127.0.0.1 and localhost that it signed, served by rustls.
pub struct TestCa {
    pub ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let issued = super::ca::issue();
        let chain = vec![
            rustls::pki_types::CertificateDer::from(issued.cert_der),
            rustls::pki_types::CertificateDer::from(issued.ca_der),
        ];
        let key = rustls::pki_types::PrivateKeyDer::try_from(issued.key_der).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        TestCa {
            ca_pem: issued.ca_pem,
            server: Arc::new(server),
        }
    }

    pub fn write_ca(&self, path: &Path) {
        std::fs::write(path, &self.ca_pem).unwrap();
    }
}

/// `https://127.0.0.1:PORT` in front of `host`: each connection's requests are read, sent on to
/// the mock one by one, and answered over TLS.
pub struct TlsFront {
    pub base: String,
}

impl TlsFront {
    pub fn start(ca: &TestCa, host: &MockHost) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let backend = host.base.trim_start_matches("http://").to_string();
        let config = ca.server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, backend) = (config.clone(), backend.clone());
                std::thread::spawn(move || serve_tls(stream, &config, &backend));
            }
        });
        TlsFront {
            base: format!("https://127.0.0.1:{port}"),
        }
    }
}

fn serve_tls(stream: TcpStream, config: &Arc<rustls::ServerConfig>, backend: &str) {
    let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    loop {
        let Some(request) = read_request(&mut tls) else {
            return;
        };
        let Ok(mut plain) = TcpStream::connect(backend) else {
            return;
        };
        // One request per backend connection: the mock answers and closes.
        let request = close_after(&request);
        if plain.write_all(&request).is_err() {
            return;
        }
        let mut response = Vec::new();
        let _ = plain.read_to_end(&mut response);
        if tls.write_all(&response).is_err() || tls.flush().is_err() {
            return;
        }
        if response_closes(&response) {
            tls.conn.send_close_notify();
            let _ = tls.flush();
            return;
        }
    }
}

/// One HTTP/1.1 request: its head, then `Content-Length` bytes of body.
fn read_request(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).ok()?;
    head.extend(body);
    Some(head)
}

fn close_after(request: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let head: Vec<&str> = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    format!("{}\r\nConnection: close\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

fn response_closes(response: &[u8]) -> bool {
    let text = String::from_utf8_lossy(response).to_ascii_lowercase();
    text.split("\r\n\r\n")
        .next()
        .is_some_and(|head| head.contains("connection: close"))
}

/// A CONNECT proxy on 127.0.0.1: it tunnels each connection and keeps the request lines it was
/// sent and every byte the client sent through the tunnel.
pub struct ConnectProxy {
    pub url: String,
    pub seen: Arc<Mutex<Vec<String>>>,
    pub bytes: Arc<Mutex<Vec<u8>>>,
}

impl ConnectProxy {
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let bytes: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (s, b) = (seen.clone(), bytes.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, b) = (s.clone(), b.clone());
                std::thread::spawn(move || tunnel(&stream, &s, &b));
            }
        });
        ConnectProxy {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            bytes,
        }
    }
}

fn tunnel(client: &TcpStream, seen: &Mutex<Vec<String>>, bytes: &Arc<Mutex<Vec<u8>>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    seen.lock().unwrap().push(line.trim().to_string());
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let Some(target) = line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split(' ').next())
    else {
        let _ =
            (&mut &*client).write_all(b"HTTP/1.1 405 Only CONNECT\r\nConnection: close\r\n\r\n");
        return;
    };
    let Ok(server) = TcpStream::connect(target) else {
        let _ = (&mut &*client).write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    let _ = (&mut &*client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut to_server, mut from_server) = (server.try_clone().unwrap(), server);
    let mut to_client = client.try_clone().unwrap();
    let copy_back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_server, &mut to_client);
        let _ = to_client.shutdown(Shutdown::Write);
    });
    let mut buffer = [0u8; 4096];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                bytes.lock().unwrap().extend_from_slice(&buffer[..n]);
                if to_server.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_server.shutdown(Shutdown::Write);
    let _ = copy_back.join();
}
