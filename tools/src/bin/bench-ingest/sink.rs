//! A stand-in for the ClickHouse HTTP interface that answers every INSERT
//! with `200 OK` after reading its body to the end, so the client's side of an
//! insert (RowBinary encoding, LZ4 framing, HTTP/1.1 chunked upload over
//! loopback) is timed without any server-side work. Any other request (the
//! client's `DESCRIBE TABLE` for insert validation, once per client) is
//! relayed to the real server. It runs on threads of its own; the only thing
//! it does per inserted byte is copy it into a scratch buffer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// The sink's base URL (`http://127.0.0.1:<port>`); it serves until the
/// process exits. `upstream` (`host:port`) answers what is not an INSERT.
pub fn start(upstream: String) -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                // A connection the client drops mid-request is not our concern.
                let _ = serve(stream, &upstream);
            });
        }
    });
    Ok(url)
}

/// Answers the requests of one keep-alive connection.
fn serve(stream: TcpStream, upstream: &str) -> io::Result<()> {
    let mut response = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut line = String::new();
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let (mut length, mut chunked, mut headers) = (0, false, Vec::new());
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().map_err(|_| bad("content-length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if !name.eq_ignore_ascii_case("connection") {
                headers.push(header.to_owned());
            }
        }
        // The client sends the statement of an insert in the URL, its data in the body.
        if request_line.contains("query=INSERT") {
            read_body(&mut reader, &mut line, length, chunked, &mut io::sink())?;
            response.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
        } else {
            let mut body = Vec::new();
            read_body(&mut reader, &mut line, length, chunked, &mut body)?;
            relay(upstream, &request_line, &headers, &body, &mut response)?;
            // The upstream response ends with the upstream connection, so ours ends too.
            return Ok(());
        }
    }
}

/// Sends one request upstream on a connection of its own and copies the
/// whole response back.
fn relay(
    upstream: &str,
    request_line: &str,
    headers: &[String],
    body: &[u8],
    client: &mut TcpStream,
) -> io::Result<()> {
    let mut server = TcpStream::connect(upstream)?;
    let mut head = request_line.to_owned();
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    server.write_all(head.as_bytes())?;
    server.write_all(body)?;
    io::copy(&mut server, client)?;
    Ok(())
}

fn read_body(
    reader: &mut BufReader<TcpStream>,
    line: &mut String,
    length: u64,
    chunked: bool,
    into: &mut impl Write,
) -> io::Result<()> {
    if !chunked {
        return copy_exact(reader, length, into);
    }
    loop {
        line.clear();
        reader.read_line(line)?;
        let size = line.trim_end().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line that ends the body.
            loop {
                line.clear();
                if reader.read_line(line)? == 0 || line.trim_end().is_empty() {
                    return Ok(());
                }
            }
        }
        copy_exact(reader, size, into)?;
        copy_exact(reader, 2, &mut io::sink())?;
    }
}

fn copy_exact(
    reader: &mut BufReader<TcpStream>,
    bytes: u64,
    into: &mut impl Write,
) -> io::Result<()> {
    let copied = io::copy(&mut reader.take(bytes), into)?;
    if copied < bytes {
        Err(io::ErrorKind::UnexpectedEof.into())
    } else {
        Ok(())
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"))
}
