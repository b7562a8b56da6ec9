//! Streaming a long read (an explain CSV of every row) into a response body with
//! bounded memory: the blocking DuckDB read writes through [`ChannelWriter`], which
//! hands 64 KiB chunks to the body through a small channel, so a slow client slows
//! the read instead of the read filling memory.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the read and the client.
const DEPTH: usize = 4;

/// An `io::Write` whose bytes become the response body.
#[derive(Debug)]
pub struct ChannelWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl ChannelWriter {
    /// Ends the body with an error (the client sees a broken transfer, not a
    /// truncated file that looks whole).
    pub fn fail(self, message: String) {
        let _ = self.tx.blocking_send(Err(io::Error::other(message)));
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

struct Chunks(mpsc::Receiver<io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A writer for a blocking thread and the body that streams what it writes.
pub fn channel() -> (ChannelWriter, Body) {
    let (tx, rx) = mpsc::channel(DEPTH);
    (
        ChannelWriter {
            buffer: Vec::with_capacity(CHUNK),
            tx,
        },
        Body::from_stream(Chunks(rx)),
    )
}
