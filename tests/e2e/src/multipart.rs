//! Building `multipart/form-data` request bodies.

/// Returns the Content-Type header and the body of a form with one file
/// field `field` holding `bytes` under `filename`.
pub(crate) fn multipart_body(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = boundary_not_in(bytes);
    let head = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\
         \r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");

    let mut body = Vec::with_capacity(head.len() + bytes.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(tail.as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Returns a random boundary that does not occur in `bytes`, as RFC 2046
/// requires.
fn boundary_not_in(bytes: &[u8]) -> String {
    loop {
        let boundary = format!("stowage-e2e-{}", uuid::Uuid::new_v4().simple());
        let needle = boundary.as_bytes();
        if !bytes.windows(needle.len()).any(|window| window == needle) {
            return boundary;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_wraps_the_bytes_in_one_part() {
        let (content_type, body) = multipart_body("file", "a.txt", b"hello");
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .expect("the content type names the boundary");
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\n\
             hello\r\n--{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);
    }
}
