//! Bytes written on a blocking thread and streamed as an HTTP body, 64 KiB at a time: a long
//! answer (an audit report, a 50 000-file upload's results) is never one buffer in memory.

use std::io::{self, Write};

use crate::error::AppError;

/// How much is handed over at a time.
const CHUNK: usize = 64 * 1024;

/// Runs `write` on a blocking thread and streams what it writes. The writer waits while the
/// client is slower (at most a few chunks are queued); if the client goes away, the next
/// hand-over fails and the writing stops. A failure midway ends the body with an error (a
/// broken download, never a short answer that looks complete) and is logged as `what`'s.
pub fn written<F>(
    what: &'static str,
    write: F,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, io::Error>>
where
    F: FnOnce(&mut dyn Write) -> Result<(), AppError> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter { tx: tx.clone(), buf: Vec::with_capacity(CHUNK) };
        let written = write(&mut out)
            .and_then(|()| out.flush().map_err(|e| AppError::Internal(anyhow::anyhow!("{what}: {e}"))));
        if let Err(e) = written {
            tracing::error!(error = %e, "{what} stopped while streaming");
            let _ = tx.blocking_send(Err(io::Error::other(format!("the {what} could not be completed"))));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, io::Error>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn hand_over(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}
