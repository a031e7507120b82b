//! Errors on panel routes: the same `AppError`s as the API, shown as a Polish HTML page with the
//! same status code. Never JSON, never internals; a missing session sends the browser to the
//! login page instead.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::Layout;
use crate::error::{AppError, Refusal};

/// Why a panel request did not end in its page.
#[derive(Debug)]
pub enum PanelError {
    /// Nobody is logged in: go to the login page.
    Login,
    /// A POST form without this session's CSRF token.
    Csrf,
    App(AppError),
    /// A failure inside the gateway: logged once, when it happens, under the incident id the
    /// page repeats (however many times the page is rendered).
    Internal {
        incident: uuid::Uuid,
    },
}

impl From<AppError> for PanelError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated => Self::Login,
            AppError::Internal(err) => {
                let incident = uuid::Uuid::now_v7();
                tracing::error!(incident = %incident, error = ?err, "Panel request failed with an internal error");
                Self::Internal { incident }
            }
            AppError::Unavailable(why) => {
                tracing::warn!(reason = %why, "Panel request answered 503");
                Self::App(AppError::Unavailable(why))
            }
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
            Self::Internal { incident } => write!(f, "internal error {incident}"),
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

/// Polish words for the reasons of invalid input the services name with a stable code
/// (`AppError::invalid_field`): the one table, shown beside the field or on the error page.
fn reason_pl(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "token_too_short" => "Token KSeF wygląda na za krótki – wklej cały token.",
        "not_pem" => "To nie jest blok PEM (tekst zaczynający się od „-----BEGIN …”).",
        "wrong_pem_type" => {
            "To inny rodzaj bloku PEM niż oczekiwany (certyfikat: CERTIFICATE, klucz: PRIVATE KEY)."
        }
        "not_x509" => "To nie jest poprawny certyfikat X.509.",
        "certificate_not_valid_now" => {
            "Certyfikat nie jest teraz ważny (wygasł albo jeszcze nie obowiązuje)."
        }
        "unusable_key" => {
            "Tym kluczem prywatnym nie da się podpisywać (KSeF przyjmuje RSA 2048+ lub EC P-256)."
        }
        "key_mismatch" => "Ten klucz prywatny nie należy do podanego certyfikatu (ich klucze publiczne się różnią).",
        "not_ksef" => {
            "Pod tym adresem nie odpowiada KSeF. Sprawdź adres API (np. https://api-test.ksef.mf.gov.pl/v2; symulator: adres z /v2 na końcu)."
        }
        "ksef_required" => {
            "Wskaż środowisko KSeF (test, demo, prod albo adres API): klienci biura nie korzystają z jednego."
        }
        "bad_nip" => "NIP musi mieć 10 cyfr z poprawną cyfrą kontrolną.",
        "unknown_credential_mode" => "Wybierz poświadczenie biura albo własne poświadczenie klienta.",
        "no_permission_chosen" => "Zaznacz co najmniej jedno uprawnienie.",
        "unknown_permission" => "Nieznane uprawnienie – odśwież stronę i zaznacz uprawnienia ponownie.",
        "comment_required" => "Napisz komentarz dla osoby, która przygotowała fakturę (do 1000 znaków).",
        "comment_control_character" => {
            "Komentarz nie może zawierać znaków sterujących ani znaków zmieniających kierunek tekstu."
        }
        "unknown_answer" => "Wybierz: zwróć do poprawy albo odrzuć.",
        "no_invoice_chosen" => "Zaznacz co najmniej jedną fakturę.",
        "too_many_invoices" => {
            "Za dużo zaznaczonych faktur – jednorazowo można pobrać PDF najwyżej 500 faktur."
        }
        "bad_cursor" => "Nie ma takiej strony listy – wróć do pierwszej strony.",
        "no_such_user" => "W bramce nie ma użytkownika o tym adresie e-mail.",
        "url_malformed" => "To nie jest pełny adres URL (np. https://erp.example.pl/ksef/webhook).",
        "url_scheme" | "url_http_not_allowed" => {
            "Adres musi zaczynać się od https:// (http:// tylko do hostów dozwolonych w konfiguracji bramki)."
        }
        "url_credentials" => "Adres nie może zawierać nazwy użytkownika ani hasła.",
        "url_unresolvable" => "Nazwa hosta z adresu nie istnieje w DNS.",
        "url_private_address" => {
            "Adres wskazuje na sieć lokalną, prywatną lub pętlę zwrotną, na które konfiguracja bramki nie pozwala."
        }
        "unknown_event" => "Zaznacz co najmniej jedno zdarzenie z listy.",
        "password_too_short" => "Hasło musi mieć co najmniej 12 znaków.",
        "wrong_password" => "Obecne hasło jest nieprawidłowe.",
        "passwords_differ" => "Powtórzone hasło różni się od nowego – wpisz je ponownie.",
        "email_invalid" => "To nie jest poprawny adres e-mail (np. anna@biuro.pl).",
        "name_invalid" => "Nazwa nie może być pusta, może mieć najwyżej 200 znaków i nie może zawierać znaków sterujących.",
        "board_member_needs_company" => "Członkowi zarządu wybierz jego spółkę.",
        "no_such_client" => "Nie ma takiego klienta w bramce – wybierz spółkę z listy.",
        "nip_invalid" => "To nie jest poprawny NIP (10 cyfr z prawidłową cyfrą kontrolną).",
        "client_exists" => "Klient o tym NIP-ie jest już w bramce.",
        "office_credential_other_ksef" => {
            "Poświadczenie biura jest zapisane dla innego środowiska KSeF niż wybrane dla klienta – bramka nigdy nie wysyła go do innego KSeF. Wybierz to samo środowisko albo własny token klienta."
        }
        "no_office_credential" => {
            "Biuro nie ma jeszcze własnego poświadczenia KSeF – zapisz je najpierw na stronie „Poświadczenie biura” albo wybierz własny token klienta."
        }
        "office_offline" => "Certyfikat biura służy do logowania; certyfikat do trybu offline (KOD II) wystawia się dla klienta.",
        "nothing_to_renew" => "Bramka nie używa jeszcze certyfikatu tego rodzaju dla tego podmiotu – wystaw nowy zamiast odnawiać.",
        "dn_not_encodable" => "Danych podmiotu podanych przez KSeF nie da się umieścić we wniosku o certyfikat tak, jak wymaga KSeF.",
        "bad_serial" => "Numer seryjny certyfikatu składa się z cyfr szesnastkowych (0–9, A–F).",
        "unknown_certificate_type" => "Wybierz rodzaj certyfikatu z listy.",
        "unknown_key_type" => "Wybierz rodzaj klucza z listy (EC P-256 albo RSA 2048).",
        "unknown_revocation_reason" => "Wybierz powód unieważnienia z listy.",
        "ksef_unknown" => "Wpisz test, demo, prod albo pełny adres API KSeF (https://…).",
        "unknown_policy" => "Wybierz politykę wysyłki z listy.",
        "unknown_role" => "Wybierz rolę z listy.",
        "not_an_accountant" => {
            "Uprawnienia nadaje się księgowym; administratorzy i członkowie zarządu mają swoje z racji roli."
        }
        _ => return None,
    })
}

/// A refusal in Polish (the catalogue's words); KSeF's own answer (its words, not ours) quoted
/// after it when there is one.
fn refusal_text(refusal: Refusal, message: &str) -> String {
    match message.split_once(crate::service::clients::KSEF_SAID) {
        Some((_, why)) => format!("{} Odpowiedź KSeF: {why}", refusal.pl()),
        None => refusal.pl().to_owned(),
    }
}

/// The heading of a refusal's page, by what kind of refusal its status says it is.
fn refusal_heading(refusal: Refusal) -> &'static str {
    match refusal.status() {
        StatusCode::NOT_FOUND => "Jeszcze niedostępne",
        StatusCode::FORBIDDEN => "Brak uprawnień",
        StatusCode::BAD_REQUEST => "Nieprawidłowe zapytanie",
        _ => "Nie można tego zrobić",
    }
}

/// Invalid input in Polish: the reason's words, or the message itself when the panel wrote it
/// (the panel's own checks speak Polish already).
fn invalid_text(e: &AppError, message: &str) -> String {
    match e.field_reason() {
        Some((_, reason)) => {
            reason_pl(reason).map_or_else(|| "Popraw dane i spróbuj ponownie.".to_owned(), str::to_owned)
        }
        None => message.to_owned(),
    }
}

/// What a form shows beside one of its fields after a failed submit: which field (the API's name
/// of it, from the service) and the Polish sentence.
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// The error a form can show beside a field: invalid input naming its field, or a refusal
    /// (shown at the form's main field `default_field`). None for anything else (the error page
    /// handles those).
    pub fn of(e: &AppError, default_field: &str) -> Option<Self> {
        match e {
            AppError::Invalid { message, .. } => Some(Self {
                field: e.field_reason().map_or(default_field, |(f, _)| f).to_owned(),
                message: invalid_text(e, message),
            }),
            AppError::Refused { refusal, message } if e.is_unprocessable() => {
                Some(Self { field: default_field.to_owned(), message: refusal_text(*refusal, message) })
            }
            _ => None,
        }
    }

    /// The message when it belongs beside `field`.
    pub fn at(this: &Option<Self>, field: &str) -> Option<String> {
        this.as_ref().filter(|e| e.field == field).map(|e| e.message.clone())
    }
}

impl PanelError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Login => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::App(e) => e.meta().0,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
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
                AppError::Refused { refusal, message } => (refusal_heading(*refusal), refusal_text(*refusal, message)),
                AppError::Invalid { message, .. } => ("Nieprawidłowe dane", invalid_text(e, message)),
                AppError::Conflict(_) => (
                    "Konflikt",
                    "Dane zmieniły się w międzyczasie albo już istnieją. Odśwież stronę i spróbuj ponownie.".into(),
                ),
                AppError::MethodNotAllowed => (
                    "Niedozwolona operacja",
                    "Ta strona nie przyjmuje takiego żądania. Wróć i skorzystaj z formularza.".into(),
                ),
                AppError::TooLarge(_) => ("Plik jest za duży", "Przesłany plik przekracza dopuszczalny rozmiar.".into()),
                AppError::RateLimited { retry_after_s } => (
                    "Zbyt wiele żądań",
                    format!("Odczekaj {retry_after_s} s i spróbuj ponownie."),
                ),
                AppError::Unavailable(_) => ("Usługa chwilowo niedostępna", "Spróbuj ponownie za chwilę.".into()),
                AppError::Internal(_) => ("Błąd wewnętrzny", "Coś poszło nie tak po stronie bramki.".into()),
                AppError::Unauthenticated => ("Zaloguj się", String::new()),
            },
            Self::Internal { incident } => (
                "Błąd wewnętrzny",
                format!("Coś poszło nie tak po stronie bramki. Numer zgłoszenia: {incident}."),
            ),
        }
    }

    /// The error page in the given frame (anonymous, or the person's with the navigation).
    fn page(&self, layout: Layout) -> Result<String, askama::Error> {
        let (heading, message) = self.words();
        askama::Template::render(&ErrorPage { layout, heading, message })
    }
}

/// Panel errors come back inside the normal layout with the navigation of whoever is logged in
/// (`ResponseError` renders them without knowing the request, so with an anonymous frame; this
/// middleware, which sees the request, renders the same page again in the person's frame).
pub async fn with_layout(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::body::EitherBody;
    let res = next.call(req).await?;
    let framed = res
        .response()
        .error()
        .and_then(|e| e.as_error::<PanelError>())
        .filter(|e| !matches!(e, PanelError::Login))
        .and_then(|e| {
            let me = super::PanelUser::of(res.request())?;
            let title = e.words().0;
            e.page(Layout::for_user(title, &me)).ok()
        });
    let Some(body) = framed else { return Ok(res.map_body(|_, b| EitherBody::left(b))) };
    Ok(res.map_body(|_, _| EitherBody::right(actix_web::body::BoxBody::new(body))))
}

impl ResponseError for PanelError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Self::Login) {
            return super::see_other("/login");
        }
        let heading = self.words().0;
        let mut resp = HttpResponse::build(self.status());
        if let Self::App(AppError::RateLimited { retry_after_s }) = self {
            resp.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        match self.page(Layout::anonymous(heading)) {
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
