//! Forwarding of component stdout and stderr to the host's log.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Output longer than this without a newline is logged as one line anyway.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// A component's stdout or stderr, logged one line per event with the
/// component id (target `component`): stdout at INFO, stderr at WARN, so
/// that a WARN filter keeps the errors components report.
#[derive(Clone)]
pub struct ComponentOutput {
    component_id: Arc<str>,
    stream: Stream,
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl ComponentOutput {
    pub fn stdout(component_id: Arc<str>) -> Self {
        Self {
            component_id,
            stream: Stream::Stdout,
        }
    }

    pub fn stderr(component_id: Arc<str>) -> Self {
        Self {
            component_id,
            stream: Stream::Stderr,
        }
    }
}

impl IsTerminal for ComponentOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineLogger {
            output: self.clone(),
            buffer: Vec::new(),
        })
    }
}

struct LineLogger {
    output: ComponentOutput,
    buffer: Vec<u8>,
}

impl LineLogger {
    fn log_line(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        match self.output.stream {
            Stream::Stdout => tracing::info!(
                target: "component",
                component = %self.output.component_id,
                stream = "stdout",
                "{line}"
            ),
            Stream::Stderr => tracing::warn!(
                target: "component",
                component = %self.output.component_id,
                stream = "stderr",
                "{line}"
            ),
        }
    }

    /// Logs every complete line in the buffer, and the rest too if `all`.
    fn drain(&mut self, all: bool) {
        while let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=newline).collect();
            self.log_line(&line[..line.len() - 1]);
        }
        if (all && !self.buffer.is_empty()) || self.buffer.len() > MAX_LINE_BYTES {
            let rest = std::mem::take(&mut self.buffer);
            self.log_line(&rest);
        }
    }
}

impl AsyncWrite for LineLogger {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.buffer.extend_from_slice(data);
        self.drain(false);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.drain(true);
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineLogger {
    fn drop(&mut self) {
        self.drain(true);
    }
}
