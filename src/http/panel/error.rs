//! Errors on panel routes: the same `AppError`s as the API, shown as a Polish HTML page with the
//! same status code. Never JSON, never internals; a missing session sends the browser to the
//! login page instead.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::Layout;
use crate::error::AppError;

/// Why a panel request did not end in its page.
#[derive(Debug)]
pub enum PanelError {
    /// Nobody is logged in: go to the login page.
    Login,
    /// A POST form without this session's CSRF token.
    Csrf,
    App(AppError),
}

impl From<AppError> for PanelError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => Self::Login,
            other => Self::App(other),
        }
    }
}

impl fmt::Display for PanelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Login => f.write_str("login required"),
            Self::Csrf => f.write_str("CSRF token missing or wrong"),
            Self::App(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Template)]
#[template(path = "panel/error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: String,
}

/// Polish words for the refusals the services give with a stable code; anything else shows
/// the service's own message under a Polish heading.
fn refusal_pl(code: &str) -> Option<&'static str> {
    Some(match code {
        "approval_required" => "Ta faktura wymaga najpierw zatwierdzenia przez drugą osobę (zasada dwóch par oczu).",
        "invoice_not_sendable" => "Wybrana faktura nie może zostać wysłana w obecnym stanie (wysłać można tylko szkic lub fakturę zatwierdzoną).",
        "client_paused" => "Wysyłka dla tego klienta jest wstrzymana. Sprawdź poświadczenie KSeF na pulpicie.",
        "approver_is_preparer" => "Osoba, która przygotowała fakturę, nie może jej sama zatwierdzić.",
        "approval_not_needed" => "Ten klient nie stosuje zatwierdzania przez drugą osobę.",
        "invoice_not_draft" => "Zatwierdzić można tylko szkic faktury.",
        "empty_body" => "Nie wybrano pliku albo plik jest pusty.",
        "package_empty" => "Archiwum zip nie zawiera żadnego pliku .xml.",
        "upo_not_ready" => "KSeF nie wystawił jeszcze UPO dla tej faktury.",
        "scope_not_held" => "Nie możesz przekazać uprawnień ani zakresów klucza API, których sam nie masz u tego klienta. Wybierz tylko te, które posiadasz, albo poproś administratora biura.",
        "csrf_failed" | "origin_mismatch" => "Formularz nie pochodzi z tej sesji panelu. Odśwież stronę i spróbuj ponownie.",
        "invalid_range" => "Data początkowa jest późniejsza niż data końcowa. Popraw zakres dat.",
        "unsupported_format" => "Ten format raportu nie jest dostępny. Wybierz CSV albo JSON.",
        "qr_needs_valid_invoice" => "Kod QR można utworzyć tylko dla poprawnej faktury (NIP sprzedawcy i data wystawienia).",
        _ => return None,
    })
}

impl PanelError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Login => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::App(e) => e.meta().0,
        }
    }

    /// The heading and the sentence a person reads.
    fn words(&self) -> (&'static str, String) {
        match self {
            Self::Login => ("Zaloguj się", String::new()),
            Self::Csrf => (
                "Formularz wygasł",
                "Formularz nie pochodzi z tej sesji panelu albo sesja się zmieniła. Odśwież stronę i spróbuj ponownie.".into(),
            ),
            Self::App(e) => match e {
                AppError::NotFound => (
                    "Nie znaleziono",
                    "Nie ma tu takiej strony, klienta ani faktury albo nie masz do nich dostępu.".into(),
                ),
                AppError::Forbidden => (
                    "Brak uprawnień",
                    "Nie masz uprawnień do tej czynności u tego klienta. O dostęp poproś administratora biura lub członka zarządu klienta.".into(),
                ),
                AppError::Refused { code, message } => (
                    "Nie można tego zrobić",
                    refusal_pl(code).map_or_else(|| format!("Odmowa: {message}"), str::to_owned),
                ),
                AppError::Denied { code, message } => (
                    "Brak uprawnień",
                    refusal_pl(code).map_or_else(|| format!("Odmowa: {message}"), str::to_owned),
                ),
                AppError::BadRequest { code, message } => (
                    "Nieprawidłowe zapytanie",
                    refusal_pl(code).map_or_else(|| format!("Popraw zapytanie. Szczegóły: {message}"), str::to_owned),
                ),
                AppError::MethodNotAllowed => (
                    "Niedozwolona operacja",
                    "Ta strona nie przyjmuje takiego żądania. Wróć i skorzystaj z formularza.".into(),
                ),
                AppError::Invalid { message, .. } => ("Nieprawidłowe dane", format!("Popraw dane i spróbuj ponownie. Szczegóły: {message}")),
                AppError::Conflict(message) => ("Konflikt", format!("Dane zmieniły się w międzyczasie lub już istnieją. Szczegóły: {message}")),
                AppError::TooLarge(_) => ("Plik jest za duży", "Przesłany plik przekracza dopuszczalny rozmiar.".into()),
                AppError::RateLimited { retry_after_s } => (
                    "Zbyt wiele żądań",
                    format!("Odczekaj {retry_after_s} s i spróbuj ponownie."),
                ),
                AppError::Unavailable(why) => {
                    tracing::warn!(reason = %why, "Panel request answered 503");
                    ("Usługa chwilowo niedostępna", "Spróbuj ponownie za chwilę.".into())
                }
                AppError::Internal(err) => {
                    let incident = uuid::Uuid::now_v7();
                    tracing::error!(incident = %incident, error = ?err, "Panel request failed with an internal error");
                    ("Błąd wewnętrzny", format!("Coś poszło nie tak po stronie bramki. Numer zgłoszenia: {incident}."))
                }
                AppError::Unauthenticated => ("Zaloguj się", String::new()),
            },
        }
    }
}

impl ResponseError for PanelError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Self::Login) {
            return super::see_other("/login");
        }
        let (heading, message) = self.words();
        let page = ErrorPage { layout: Layout::anonymous(heading), heading, message };
        let mut resp = HttpResponse::build(self.status());
        if let Self::App(AppError::RateLimited { retry_after_s }) = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        match askama::Template::render(&page) {
            Ok(body) => resp
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(body),
            Err(e) => {
                tracing::error!(error = %e, "Panel error page failed to render");
                resp.content_type("text/plain; charset=utf-8").body(heading)
            }
        }
    }
}
