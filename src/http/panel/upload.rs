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

/// An upload page lists every file up to this many; a larger upload lists this many of its
/// files with remarks, the invalid ones first, and counts the rest, so that a 50 000-file zip
/// answers with a page a browser opens, built from its results read one at a time.
const LISTED_FILES: usize = 500;

/// The files an upload's page lists, and what it only counts.
struct Listed {
    files: Vec<FileResult>,
    total: usize,
    valid: usize,
    /// Files with remarks past the listed ones.
    more_with_remarks: usize,
    /// Files without remarks left out (only in an upload of more than [`LISTED_FILES`]).
    clean_not_listed: usize,
}

impl Listed {
    /// Reads the results (blocking: a large upload's are in its spool file): all of them in
    /// order, or for a large upload the invalid ones, then the drafts with warnings.
    fn of(mut results: intake::Results, upload_name: &str) -> Result<Self, AppError> {
        let (total, valid) = (results.len(), results.valid());
        let mut listed = Self { files: Vec::new(), total, valid, more_with_remarks: 0, clean_not_listed: 0 };
        if total <= LISTED_FILES {
            results.each(|r| {
                listed.files.push(FileResult::new(&r, upload_name));
                Ok(())
            })?;
            return Ok(listed);
        }
        for invalid_pass in [true, false] {
            results.each(|r| {
                if (r.invoice.state == InvoiceState::Draft) == invalid_pass {
                    return Ok(());
                }
                if r.findings.is_empty() {
                    listed.clean_not_listed += 1;
                } else if listed.files.len() < LISTED_FILES {
                    listed.files.push(FileResult::new(&r, upload_name));
                } else {
                    listed.more_with_remarks += 1;
                }
                Ok(())
            })?;
        }
        Ok(listed)
    }

    fn one(result: &IntakeResult, upload_name: &str) -> Self {
        let file = FileResult::new(result, upload_name);
        let valid = usize::from(file.valid);
        Self { files: vec![file], total: 1, valid, more_with_remarks: 0, clean_not_listed: 0 }
    }
}

#[derive(Template)]
#[template(path = "panel/upload_result.html")]
struct UploadPage {
    layout: Layout,
    client: ClientView,
    listed: Listed,
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
    let upload_name = upload_name(form.file_name);
    let listed = tokio::task::spawn_blocking(move || Listed::of(results, &upload_name))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    result_page(&me, client, listed)
}

/// What the page calls a file sent without a name.
fn upload_name(file_name: Option<String>) -> String {
    file_name.unwrap_or_else(|| "plik".into())
}

/// The page after a replacement: the one new invoice with its state and findings.
pub(super) fn replacement_page(
    me: &PanelUser,
    client: ClientView,
    stored: &IntakeResult,
    file_name: Option<String>,
) -> Result<HttpResponse, PanelError> {
    result_page(me, client, Listed::one(stored, &upload_name(file_name)))
}

/// The page after an upload: each listed file with its state and findings.
fn result_page(me: &PanelUser, client: ClientView, listed: Listed) -> Result<HttpResponse, PanelError> {
    ok(&UploadPage { layout: Layout::for_user("Wynik wgrywania", me), client, listed })
}
