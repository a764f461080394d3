//! Load generator for echo servers, used by `bench/reactor_echo.sh` to measure the
//! Hornbeam reactor and asyncio with the same client.
//!
//! `echo_load messages <addr> <connections> <size> <seconds>`: each connection sends a
//! message and waits for its echo, back to back; prints messages per second.
//!
//! `echo_load stream <addr> <chunk> <seconds>`: one connection, one thread writing
//! chunks and one reading the echo; prints MB/s echoed (every byte checked).
//!
//! `echo_load ws <url> <connections> <size> <seconds>`: like `messages`, over WebSocket
//! (`bench/http_asgi.sh`): each connection sends a text message and waits for its echo;
//! prints messages per second. `wsjson` sends JSON and expects pykrozen's default
//! reply, `{"echo": ...}` (`bench/pykrozen.sh`).
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: echo_load messages ADDR CONNS SIZE SECS | echo_load stream ADDR CHUNK SECS | echo_load ws URL CONNS SIZE SECS | echo_load wsjson URL CONNS SIZE SECS";
    let num = |i: usize| -> u64 { args.get(i).and_then(|a| a.parse().ok()).expect(usage) };
    match args.get(1).map(String::as_str) {
        Some("messages") => messages(&args[2], num(3) as usize, num(4) as usize, num(5)),
        Some("stream") => stream(&args[2], num(3) as usize, num(4)),
        Some("ws") => websocket(&args[2], num(3) as usize, num(4) as usize, num(5), false),
        Some("wsjson") => websocket(&args[2], num(3) as usize, num(4) as usize, num(5), true),
        _ => panic!("{usage}"),
    }
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

fn messages(addr: &str, conns: usize, size: usize, secs: u64) {
    round_trips(conns, secs, |i, done| {
        let mut s = connect(addr);
        let msg: Vec<u8> = (0..size).map(|k| (i + k) as u8).collect();
        let mut back = vec![0u8; size];
        let mut n = 0;
        while !done.load(Ordering::Relaxed) {
            s.write_all(&msg).expect("write");
            s.read_exact(&mut back).expect("read");
            assert_eq!(back, msg, "echo mismatch");
            n += 1;
        }
        n
    });
}

/// `json`: send `{"m":"<letters>"}` and expect pykrozen's default echo,
/// `{"echo":{"m":"<letters>"}}`, instead of the same text back.
fn websocket(url: &str, conns: usize, size: usize, secs: u64, json: bool) {
    use tungstenite::Message;
    round_trips(conns, secs, |i, done| {
        let (mut ws, _) = tungstenite::connect(url).expect("websocket handshake");
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true).expect("nodelay");
        }
        let letters: String = (0..size).map(|k| (b'a' + ((i + k) % 26) as u8) as char).collect();
        let (msg, expected) = if json {
            (format!("{{\"m\":\"{letters}\"}}"), format!("{{\"echo\":{{\"m\":\"{letters}\"}}}}"))
        } else {
            (letters.clone(), letters)
        };
        let mut n = 0;
        while !done.load(Ordering::Relaxed) {
            ws.send(Message::text(msg.clone())).expect("send");
            match ws.read().expect("read") {
                Message::Text(back) => assert_eq!(back.as_str(), expected, "echo mismatch"),
                other => panic!("expected a text echo, got {other:?}"),
            }
            n += 1;
        }
        let _ = ws.close(None);
        n
    });
}

/// Runs `client(index, done)` on `conns` threads for `secs` seconds and prints the
/// round trips per second they report together.
fn round_trips<F>(conns: usize, secs: u64, client: F)
where
    F: Fn(usize, &AtomicBool) -> u64 + Sync,
{
    let done = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let start = Instant::now();
    thread::scope(|scope| {
        for i in 0..conns {
            let (done, count, client) = (&done, &count, &client);
            scope.spawn(move || count.fetch_add(client(i, done), Ordering::Relaxed));
        }
        thread::sleep(Duration::from_secs(secs));
        done.store(true, Ordering::Relaxed);
    });
    let rate = count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("{rate:.0}");
}

fn stream(addr: &str, chunk: usize, secs: u64) {
    let mut writer = connect(addr);
    let mut reader = writer.try_clone().expect("clone");
    let pattern: Vec<u8> = (0..chunk).map(|k| (k * 7 + 3) as u8).collect();
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let (wdone, wsent) = (done.clone(), sent.clone());
    let write_thread = thread::spawn(move || {
        while !wdone.load(Ordering::Relaxed) {
            writer.write_all(&pattern).expect("write");
            wsent.fetch_add(pattern.len() as u64, Ordering::Relaxed);
        }
        writer
    });
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut received: u64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    while Instant::now() < deadline {
        let n = reader.read(&mut buf).expect("read");
        assert!(n > 0, "server closed");
        for (k, &b) in buf[..n].iter().enumerate() {
            let at = (received as usize + k) % chunk;
            assert_eq!(b, (at * 7 + 3) as u8, "stream corrupted");
        }
        received += n as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    println!("{:.1}", received as f64 / elapsed / 1e6);
    // The writer may be blocked in write_all: leave without waiting for it.
    let _ = (write_thread, sent);
    std::process::exit(0);
}
