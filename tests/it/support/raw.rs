//! A host on a plain socket, for what tiny_http cannot do: an answer whose body breaks off
//! before its declared length, the connection then closed under the client. Every other
//! request gets the well-behaved answer, as from the mock host.

use super::{well_behaved, Recorded, Reply};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Answer = dyn Fn(&Recorded) -> Option<Reply> + Send + Sync;

pub struct RawHost {
    pub base: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawHost {
    /// `answer` may override any request; `None` falls back to the well-behaved answers.
    pub fn with(answer: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) -> RawHost {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer: Arc<Answer> = Arc::new(answer);
        let thread = {
            let (recorded, stop, base) = (recorded.clone(), stop.clone(), base.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (recorded, answer, base) = (recorded.clone(), answer.clone(), base.clone());
                    std::thread::spawn(move || serve(stream, &recorded, &*answer, &base));
                }
            })
        };
        RawHost {
            base,
            recorded,
            stop,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    pub fn posts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }
}

impl Drop for RawHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: requests in turn (keep-alive) until the client closes or an answer is cut.
fn serve(stream: TcpStream, recorded: &Mutex<Vec<Recorded>>, answer: &Answer, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(url)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, url) = (method.to_string(), url.to_string());
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Recorded {
            method,
            url,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        recorded.lock().unwrap().push(request.clone());
        let reply = answer(&request).unwrap_or_else(|| well_behaved(base, &request));
        // A host that took the request and answers late (or never, as the client sees it).
        if let Some(delay) = reply.delay {
            std::thread::sleep(delay);
        }
        let mut head = format!(
            "HTTP/1.1 {} Mock\r\nContent-Length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        let body = reply.body.as_bytes();
        let sent = reply
            .cut_after
            .map_or(body.len(), |cut| cut.min(body.len()));
        let _ = out.write_all(head.as_bytes());
        let _ = out.write_all(&body[..sent]);
        let _ = out.flush();
        if reply.cut_after.is_some() {
            let _ = out.shutdown(Shutdown::Both);
            return;
        }
    }
}
