//! KSeF's answers in words an accountant can act on (Polish, as the panel speaks).

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

/// The watchdog's note on an invoice stuck in `state` for `minutes`.
pub fn stuck(state: &str, minutes: i64) -> String {
    match state {
        "registered" => format!(
            "faktura czeka na numer KSeF od {minutes} min (status O); sprawdź status sesji w KSeF"
        ),
        "sending" => format!(
            "faktura jest w wysyłce od {minutes} min (status W), a KSeF jej nie potwierdził; bramka uzgadnia jej stan z KSeF"
        ),
        "offline" => format!(
            "faktura offline czeka na wysłanie od {minutes} min (status W); sprawdź, czy KSeF działa i czy wysyłka nie jest wstrzymana"
        ),
        _ => format!(
            "faktura czeka w kolejce do KSeF od {minutes} min (status W); sprawdź, czy wysyłka klienta nie jest wstrzymana"
        ),
    }
}
