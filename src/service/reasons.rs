//! KSeF's answers in words an accountant can act on (Polish, as the panel speaks).

use crate::domain::{InvoiceState, Nip};

/// Why KSeF refused an invoice, for the timeline and the panel.
pub fn rejection(code: i64) -> String {
    let text = match code {
        405 => "KSeF anulował fakturę z powodu błędu sesji; zostanie wysłana ponownie.",
        410 => "Token KSeF nie ma uprawnień do wystawiania faktur w imieniu tej firmy.",
        415 => "Faktura ma załączniki, a firma nie złożyła zgody na nie w e-Urzędzie Skarbowym.",
        430 => {
            "Plik faktury nie jest zgodny ze schematem FA(3). Popraw plik i prześlij go jako nową fakturę."
        }
        435 => "KSeF nie mógł odszyfrować faktury; zostanie wysłana ponownie.",
        440 => "KSeF ma już fakturę tego sprzedawcy o tym samym numerze i rodzaju (duplikat).",
        450 => "Faktura nie przeszła weryfikacji KSeF (np. data wystawienia z przyszłości lub błędny NIP).",
        21402 | 21403 => "Rozmiar lub skrót pliku nie zgadza się z wysłaną treścią.",
        21405 => "KSeF odrzucił dane faktury jako nieprawidłowe.",
        _ => "",
    };
    if text.is_empty() {
        format!("KSeF odrzucił fakturę (kod {code}). Szczegóły w opisie statusu.")
    } else {
        text.to_owned()
    }
}

/// Why a client's sender stopped until a person fixes its credential.
pub fn credential_pause(detail: &str) -> String {
    format!(
        "Wysyłka wstrzymana: KSeF odrzucił token tej firmy lub jego uprawnienia ({detail}). \
         Wprowadź nowy token KSeF lub sprawdź uprawnienia, a następnie wznów wysyłkę."
    )
}

/// Why a client's sender stopped because no credential is stored.
pub const NO_CREDENTIAL: &str =
    "Wysyłka wstrzymana: firma nie ma aktywnego tokenu KSeF. Dodaj token, a następnie wznów wysyłkę.";

/// Why a client that uses the office's credential stopped: the office stored none.
pub const NO_OFFICE_CREDENTIAL: &str = "Wysyłka wstrzymana: klient korzysta z poświadczenia biura, a biuro \
     nie zapisało jeszcze swojego certyfikatu ani tokenu KSeF. Administrator biura zapisuje je na stronie \
     „Poświadczenie biura”; wysyłka wznowi się sama.";

/// What the client must do in KSeF so that the office's credential gets in: grant the office's
/// NIP the sending permissions.
fn grant_hint(office_nip: &Nip, missing: &[&str]) -> String {
    let names: Vec<String> = missing.iter().map(|p| format!("{p} ({})", permission_pl(p))).collect();
    format!(
        "Klient nie nadał biuru (NIP {office_nip}) uprawnień w KSeF: potrzebne {}. Klient (osoba \
         uprawniona w firmie) nadaje je w Aplikacji Podatnika KSeF: Uprawnienia → Nadaj uprawnienia \
         podmiotowi → NIP biura {office_nip}; potem kliknij „Sprawdź dostęp biura w KSeF”",
        names.join(" i ")
    )
}

/// A KSeF permission in words.
fn permission_pl(p: &str) -> &'static str {
    match p {
        "InvoiceWrite" => "wystawianie faktur",
        "InvoiceRead" => "przeglądanie faktur",
        _ => "uprawnienie KSeF",
    }
}

/// The office logs in, but lacks `missing` of the sending permissions in the client's context.
pub fn office_lacks(office_nip: &Nip, missing: &[&str], held: Option<&str>) -> String {
    let held = match held {
        Some(h) if !h.is_empty() => format!(" Biuro ma tam teraz: {h}."),
        _ => String::new(),
    };
    format!("{}.{held}", grant_hint(office_nip, missing))
}

/// KSeF refused the office's credential in the client's context: for lack of a grant (415), or
/// for the credential itself (expired, revoked), which is the office's to fix.
pub fn office_refused(office_nip: &Nip, refusal: &crate::service::ksef_login::Refusal) -> String {
    use crate::service::ksef_login::{NO_PERMISSIONS_IN_CONTEXT, SENDING_PERMISSIONS};
    let about_the_credential = refusal.auth_code.is_some_and(|c| c != NO_PERMISSIONS_IN_CONTEXT);
    if !refusal.refused {
        format!("nie udało się zapytać KSeF o dostęp biura (NIP {office_nip}): {}", refusal.message)
    } else if !about_the_credential {
        // 415 at login, or a call refused for permissions after it: the client's grant.
        format!("{} (KSeF: {}).", grant_hint(office_nip, &SENDING_PERMISSIONS), refusal.message)
    } else {
        format!(
            "KSeF odrzucił poświadczenie biura (NIP {office_nip}): {}. Administrator biura zapisuje nowe \
             na stronie „Poświadczenie biura”.",
            refusal.message
        )
    }
}

/// Why a client's sender stopped when KSeF refused the login or its permissions: in the words
/// that fit whose credential it was.
pub fn pause_for(
    login: &crate::service::ksef_login::LoginSource,
    refusal: &crate::service::ksef_login::Refusal,
) -> String {
    match login.office_nip() {
        Some(office) => format!("Wysyłka wstrzymana: {}", office_refused(office, refusal)),
        None => credential_pause(&refusal.message),
    }
}

/// The watchdog's note on an invoice stuck in `state` for `minutes`.
pub fn stuck(state: InvoiceState, minutes: i64) -> String {
    match state {
        InvoiceState::Registered => format!(
            "faktura czeka na numer KSeF od {minutes} min (status O); sprawdź status sesji w KSeF"
        ),
        InvoiceState::Sending => format!(
            "faktura jest w wysyłce od {minutes} min (status W), a KSeF jej nie potwierdził; bramka uzgadnia jej stan z KSeF"
        ),
        InvoiceState::Offline => format!(
            "faktura offline czeka na wysłanie od {minutes} min (status W); sprawdź, czy KSeF działa i czy wysyłka nie jest wstrzymana"
        ),
        _ => format!(
            "faktura czeka w kolejce do KSeF od {minutes} min (status W); sprawdź, czy wysyłka klienta nie jest wstrzymana"
        ),
    }
}
