//! Upload bodies received as a stream, into the intake's spool (memory for small bodies, an
//! unnamed private temporary file for large ones), so no handler holds a whole zip in memory.

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};

use crate::error::AppError;
use crate::service::intake::{Upload, UploadWriter};
use crate::state::AppState;

/// A fresh spool for one upload, bounded by the configured upload size.
pub fn writer(st: &AppState) -> UploadWriter {
    UploadWriter::new(&st.settings.data_dir, st.settings.intake.max_upload_bytes)
}

/// Appends a body's chunks to `writer` (refusing more than its limit as they come).
pub async fn receive<E: std::fmt::Display>(
    mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    writer: &mut UploadWriter,
) -> Result<(), AppError> {
    while let Some(chunk) = body.next().await {
        writer.write(&chunk.map_err(|e| AppError::invalid(format!("upload: {e}")))?)?;
    }
    Ok(())
}

/// A whole request body as an upload.
pub async fn upload<E: std::fmt::Display>(
    st: &AppState,
    body: impl Stream<Item = Result<Bytes, E>> + Unpin,
) -> Result<Upload, AppError> {
    let mut spool = writer(st);
    receive(body, &mut spool).await?;
    Ok(spool.finish())
}
