//! `hyper_hello PORT THREADS`: answers `/` with 13 bytes and `/10k` with 10 KiB, from
//! Rust, with the HTTP stack Hornbeam's engine uses. No Python: the ceiling.
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(8000);
    let threads: usize = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(serve(port));
}

async fn serve(port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let small = Bytes::from_static(b"Hello, World!");
    let large = Bytes::from(vec![b'x'; 10 * 1024]);
    println!("ready");
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = stream.set_nodelay(true);
        let (small, large) = (small.clone(), large.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let body = if req.uri().path() == "/10k" { large.clone() } else { small.clone() };
                async move {
                    let response = Response::builder()
                        .header("content-type", "text/plain")
                        .body(Full::new(body))
                        .unwrap();
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
