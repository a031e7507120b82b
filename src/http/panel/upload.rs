//! `POST /klienci/{nip}/wgraj`: one FA(3) XML or a zip of many, from the page's file input,
//! through `intake::submit`; the answer lists each file with its state and findings.

use actix_multipart::Multipart;
use actix_web::{post, web, HttpResponse};
use askama::Template;
use futures_util::StreamExt;

use super::labels::FindingRow;
use super::{ok, Layout, PanelError, PanelUser};
use crate::domain::InvoiceState;
use crate::error::AppError;
use crate::http::spool;
use crate::service::clients::{self, ClientView};
use crate::service::findings::Lang;
use crate::service::intake::{self, IntakeResult, Source, Upload};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(upload);
}

/// The form's two fields: the CSRF token and the file.
pub(super) struct UploadForm {
    pub csrf: Option<String>,
    pub file_name: Option<String>,
    pub file: Upload,
}

/// The CSRF token is a few dozen characters; more is not a token.
const MAX_CSRF_BYTES: usize = 1024;

/// What other fields (none in the panel's form) may carry in all.
const MAX_OTHER_FIELD_BYTES: usize = 64 * 1024;

/// Reads the multipart body, refusing more than the configured upload size in all; the file
/// goes to the intake's spool (a temporary file when large), never whole into memory.
pub(super) async fn read_form(st: &AppState, mut mp: Multipart) -> Result<UploadForm, PanelError> {
    let (mut csrf, mut file_name, mut has_file, mut other_bytes) = (None, None, false, 0usize);
    let mut spool = spool::writer(st);
    while let Some(field) = mp.next().await {
        let mut field = field.map_err(|e| AppError::invalid(format!("upload: {e}")))?;
        match field.name().unwrap_or("") {
            "csrf" => {
                let mut buf = Vec::new();
                while let Some(chunk) = field.next().await {
                    buf.extend_from_slice(&chunk.map_err(|e| AppError::invalid(format!("upload: {e}")))?);
                    if buf.len() > MAX_CSRF_BYTES {
                        return Err(AppError::invalid("upload: the form's token is too long").into());
                    }
                }
                csrf = Some(String::from_utf8_lossy(&buf).into_owned());
            }
            "plik" => {
                // The form has one file field; a second would get a fresh size limit of its own.
                if has_file {
                    return Err(AppError::invalid("upload: one file per upload").into());
                }
                file_name = field.content_disposition().and_then(|cd| cd.get_filename()).map(str::to_owned);
                spool::receive(&mut field, &mut spool).await?;
                has_file = true;
            }
            // Fields the form does not have are read past, within a bound of their own, so the
            // body as a whole stays bounded.
            _ => {
                while let Some(chunk) = field.next().await {
                    other_bytes += chunk.map_err(|e| AppError::invalid(format!("upload: {e}")))?.len();
                    if other_bytes > MAX_OTHER_FIELD_BYTES {
                        return Err(AppError::invalid(
                            "upload: the form carries more than a file and its token",
                        )
                        .into());
                    }
                }
            }
        }
    }
    let file = if has_file { spool.finish() } else { Upload::from_bytes(Vec::new()) };
    Ok(UploadForm { csrf, file_name, file })
}

struct FileResult {
    name: String,
    id: crate::domain::InvoiceId,
    number: String,
    state: String,
    valid: bool,
    findings: Vec<FindingRow>,
}

impl FileResult {
    fn new(r: &IntakeResult, upload_name: &str) -> Self {
        Self {
            name: r.file.clone().unwrap_or_else(|| upload_name.to_owned()),
            id: r.invoice.id.clone(),
            number: r.invoice.number.clone().unwrap_or_else(|| "(bez numeru)".into()),
            state: r.invoice.state.label_pl().to_owned(),
            valid: r.invoice.state == InvoiceState::Draft,
            findings: r.findings.iter().map(|f| FindingRow::from(&f.view(Lang::Pl))).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "panel/upload_result.html")]
struct UploadPage {
    layout: Layout,
    client: ClientView,
    files: Vec<FileResult>,
    valid: usize,
}

#[post("/klienci/{nip}/wgraj")]
async fn upload(
    st: web::Data<AppState>,
    me: PanelUser,
    nip: web::Path<String>,
    mp: Multipart,
) -> Result<HttpResponse, PanelError> {
    let form = read_form(&st, mp).await?;
    me.check_csrf(&st, form.csrf.as_deref())?;
    let client = clients::find_visible(&st, &me.caller, &crate::http::id_in_path(&nip)?).await?;
    let results = intake::submit_upload(&st, &me.caller, &client.id, form.file, Source::Panel).await?;
    // The page lists every file: the results are read back whole for it.
    result_page(&me, client, &results.into_vec()?, form.file_name)
}

/// The page after an upload (or a replacement): each file with its state and findings.
pub(super) fn result_page(
    me: &PanelUser,
    client: ClientView,
    results: &[IntakeResult],
    file_name: Option<String>,
) -> Result<HttpResponse, PanelError> {
    let upload_name = file_name.unwrap_or_else(|| "plik".into());
    let files: Vec<FileResult> = results.iter().map(|r| FileResult::new(r, &upload_name)).collect();
    let valid = files.iter().filter(|f| f.valid).count();
    ok(&UploadPage { layout: Layout::for_user("Wynik wgrywania", me), client, files, valid })
}
