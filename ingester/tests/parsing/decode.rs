use std::io::{self, Cursor, Write};

use adhouse_ingester::decode::decompress;
use tokio::io::AsyncReadExt;

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text).unwrap();
    gz.finish().unwrap()
}

async fn decompressed(data: Vec<u8>) -> Result<Vec<u8>, (io::ErrorKind, String)> {
    let (_, mut decoded) = decompress(Cursor::new(data)).await.unwrap();
    let mut text = Vec::new();
    decoded.read_to_end(&mut text).await.map_err(|err| (err.kind(), err.to_string()))?;
    Ok(text)
}

/// Zero bytes after the last member (block-padding writers) end the stream,
/// as `gzip -d` reads it; a member whose trailer ends in zeros (ISIZE 256)
/// is not cut short by them. Any other trailing bytes still fail the object.
#[tokio::test]
async fn only_zero_padding_may_follow_the_last_gzip_member() {
    let first = vec![b'a'; 256];
    let first_member = gzip(&first);
    assert!(first_member.ends_with(&[1, 0, 0]), "ISIZE 256 ends in zeros");
    let members = [first_member, gzip(b"one\ntwo\n")].concat();
    let padded = [members.as_slice(), &[0; 512]].concat();
    assert_eq!(decompressed(padded.clone()).await, Ok([first.as_slice(), b"one\ntwo\n"].concat()));

    // Garbage, garbage after padding, and a member after padding.
    let cases = [
        [members.as_slice(), b"x"].concat(),
        [padded.as_slice(), b"x"].concat(),
        [padded.as_slice(), &[0, 0, 1]].concat(),
        [padded.as_slice(), &gzip(b"late\n")].concat(),
    ];
    for (case, data) in cases.into_iter().enumerate() {
        assert_eq!(decompressed(data).await.map_err(|err| err.0), Err(io::ErrorKind::InvalidData), "case {case}");
    }
}
