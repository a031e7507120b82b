//! QR codes as SVG images for the invoice view and printouts.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::error::AppError;

/// An SVG QR code of `data` (error correction M, as the KSeF visualisation uses).
pub fn render(data: &str) -> Result<String, AppError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}
