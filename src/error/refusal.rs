//! The one catalogue of refusals: every precise code the API answers besides the generic ones of
//! [`AppError`](super::AppError), with its HTTP status and its words in Polish (the panel shows
//! them) and English (what the refusal means; the API's message adds the specifics). The codes
//! never change: clients depend on them. A unit test keeps them unique and snake_case, the OpenAPI
//! document's error codes are generated from them (`error/openapi.rs`), and a snapshot makes a
//! change of wording a reviewed diff.

use actix_web::http::StatusCode;

/// Declares [`Refusal`] from one table, so a variant cannot exist without its code, status and
/// words, nor be missing from [`Refusal::ALL`].
macro_rules! catalogue {
    ($($variant:ident = $code:literal, $status:ident,
        pl: $pl:literal,
        en: $en:literal;)+) => {
        /// A refusal with a stable code of its own (see the module's table).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Refusal {
            $(#[doc = $en] $variant,)+
        }

        impl Refusal {
            /// Every refusal, in the catalogue's order.
            pub const ALL: &'static [Refusal] = &[$(Self::$variant),+];

            /// The stable code the API answers.
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            /// The HTTP status it is answered with.
            pub const fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status,)+ }
            }

            /// What a person reads in the panel.
            pub const fn pl(self) -> &'static str {
                match self { $(Self::$variant => $pl,)+ }
            }

            /// What the refusal means, in English (the API's message gives the specifics).
            pub const fn en(self) -> &'static str {
                match self { $(Self::$variant => $en,)+ }
            }
        }
    };
}

catalogue! {
    // 400: a malformed request rather than bad data in it.
    BadRequest = "bad_request", BAD_REQUEST,
        pl: "Żądanie ma nieprawidłową postać. Wróć i skorzystaj z formularza.",
        en: "The request is malformed.";
    InvalidQuery = "invalid_query", BAD_REQUEST,
        pl: "Parametry adresu strony są nieprawidłowe. Wróć do listy i wybierz filtry ponownie.",
        en: "The query string does not fit the route.";
    InvalidRange = "invalid_range", BAD_REQUEST,
        pl: "Data początkowa jest późniejsza niż data końcowa. Popraw zakres dat.",
        en: "The start of the range is after its end.";
    UnsupportedFormat = "unsupported_format", BAD_REQUEST,
        pl: "Ten format raportu nie jest dostępny. Wybierz CSV, JSON albo PDF.",
        en: "This format is not offered here.";
    AmbiguousKsefNumber = "ambiguous_ksef_number", BAD_REQUEST,
        pl: "Ta faktura dotyczy kilku Twoich klientów – otwórz ją ze strony faktur zakupowych wybranego klienta.",
        en: "The invoice concerns several of the caller's clients; name one with ?nip=.";

    // 403: a caller that may see the thing but not do this.
    CsrfFailed = "csrf_failed", FORBIDDEN,
        pl: "Formularz nie pochodzi z tej sesji panelu. Odśwież stronę i spróbuj ponownie.",
        en: "The form does not carry this session's CSRF token.";
    OriginMismatch = "origin_mismatch", FORBIDDEN,
        pl: "Formularz nie pochodzi z tej sesji panelu. Odśwież stronę i spróbuj ponownie.",
        en: "The request comes from another origin than the gateway's.";
    ScopeNotHeld = "scope_not_held", FORBIDDEN,
        pl: "Nie możesz przekazać uprawnień ani zakresów klucza API, których sam nie masz u tego klienta. Wybierz tylko te, które posiadasz, albo poproś administratora biura.",
        en: "A permission or API key scope can be granted only by someone who holds it.";

    // 404: something that exists but is not there yet.
    XmlNotDownloaded = "xml_not_downloaded", NOT_FOUND,
        pl: "Plik XML tej faktury nie został jeszcze pobrany z KSeF; bramka pobierze go przy najbliższej synchronizacji. Spróbuj ponownie później.",
        en: "The invoice's XML has not been downloaded from KSeF yet.";

    // 409: the thing has moved on.
    InvoiceDecided = "invoice_decided", CONFLICT,
        pl: "Tej faktury nie można już usunąć: zapadła decyzja o jej wysłaniu albo zatwierdzeniu. Usunąć można tylko szkic lub fakturę błędną.",
        en: "The invoice has been decided on; only a draft or an invalid invoice can be deleted.";
    InvoiceCorrected = "invoice_corrected", CONFLICT,
        pl: "Tej faktury nie można usunąć, bo wskazuje na nią faktura korygująca.",
        en: "A correcting invoice refers to this invoice, so it cannot be deleted.";

    // 422: input or a step refused with a precise reason.
    EmptyBody = "empty_body", UNPROCESSABLE_ENTITY,
        pl: "Nie wybrano pliku albo plik jest pusty.",
        en: "The request body is empty.";
    ReplacementOneXml = "replacement_one_xml", UNPROCESSABLE_ENTITY,
        pl: "Fakturę zastępuje się dokładnie jednym plikiem XML (nie archiwum zip).",
        en: "An invoice is replaced by exactly one XML file, not a zip.";
    PackageEmpty = "package_empty", UNPROCESSABLE_ENTITY,
        pl: "Archiwum zip nie zawiera żadnego pliku .xml.",
        en: "The zip holds no .xml file.";
    PackageFormat = "package_format", UNPROCESSABLE_ENTITY,
        pl: "Plik nie jest poprawnym archiwum zip.",
        en: "The upload is not a readable zip archive.";
    PackageTooManyEntries = "package_too_many_entries", UNPROCESSABLE_ENTITY,
        pl: "Archiwum zip zawiera więcej plików, niż bramka przyjmuje naraz.",
        en: "The zip holds more files than one upload may.";
    PackageEntryTooLarge = "package_entry_too_large", UNPROCESSABLE_ENTITY,
        pl: "Jeden z plików w archiwum zip jest większy, niż może być faktura.",
        en: "A file in the zip is larger than an invoice may be.";
    PackageTooLarge = "package_too_large", UNPROCESSABLE_ENTITY,
        pl: "Archiwum zip po rozpakowaniu jest za duże.",
        en: "The zip inflates to more than one upload may hold.";
    PackageCompressionRatio = "package_compression_ratio", UNPROCESSABLE_ENTITY,
        pl: "Plik w archiwum zip rozpakowuje się podejrzanie mocno (jak „bomba zip”), więc bramka go nie przyjmuje.",
        en: "A file in the zip inflates far more than any real invoice (a zip bomb).";
    PackageUnsafeName = "package_unsafe_name", UNPROCESSABLE_ENTITY,
        pl: "Nazwa pliku w archiwum zip jest niebezpieczna (np. zawiera „..” albo ścieżkę bezwzględną).",
        en: "A file name in the zip tries to escape the package.";
    PackageDuplicateName = "package_duplicate_name", UNPROCESSABLE_ENTITY,
        pl: "Archiwum zip zawiera dwa pliki o tej samej nazwie.",
        en: "Two files in the zip have the same name.";
    PackageUnsupportedEntry = "package_unsupported_entry", UNPROCESSABLE_ENTITY,
        pl: "Plik w archiwum zip jest zaszyfrowany albo skompresowany metodą, której bramka nie obsługuje.",
        en: "A file in the zip is encrypted or uses an unsupported compression method.";
    InvoiceNotPrintable = "invoice_not_printable", UNPROCESSABLE_ENTITY,
        pl: "Pliku tej faktury nie da się odczytać, więc nie można utworzyć jej PDF.",
        en: "The invoice's file cannot be read, so it has no PDF.";
    TooManyInvoices = "too_many_invoices", UNPROCESSABLE_ENTITY,
        pl: "Filtr obejmuje więcej faktur, niż można objąć jedną czynnością – zawęź go.",
        en: "More invoices match than one action may take; narrow the filter.";
    ExportTooLarge = "export_too_large", UNPROCESSABLE_ENTITY,
        pl: "Filtr obejmuje ponad 100 000 faktur – zawęź go (np. do miesiąca), aby pobrać plik CSV.",
        en: "More invoices match than one file may hold; narrow the filter.";
    UpoNotReady = "upo_not_ready", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie wystawił jeszcze UPO dla tej faktury.",
        en: "KSeF has not issued the UPO for this invoice yet.";
    QrNeedsValidInvoice = "qr_needs_valid_invoice", UNPROCESSABLE_ENTITY,
        pl: "Kod QR można utworzyć tylko dla poprawnej faktury (NIP sprzedawcy i data wystawienia).",
        en: "A QR code needs a valid invoice (seller NIP and issue date).";
    CannotDisableSelf = "cannot_disable_self", UNPROCESSABLE_ENTITY,
        pl: "Nie możesz dezaktywować własnego konta – poproś o to innego administratora biura.",
        en: "Nobody can disable their own account.";
    PolicyRequiresPerson = "policy_requires_person", UNPROCESSABLE_ENTITY,
        pl: "O wysyłce faktur tego klienta decyduje osoba.",
        en: "This client's invoices are sent only after a person decides.";
    ClientPaused = "client_paused", UNPROCESSABLE_ENTITY,
        pl: "Wysyłka dla tego klienta jest wstrzymana. Sprawdź poświadczenie KSeF na pulpicie.",
        en: "Sending for this client is paused.";
    ApprovalRequired = "approval_required", UNPROCESSABLE_ENTITY,
        pl: "Ta faktura wymaga najpierw zatwierdzenia przez drugą osobę (zasada dwóch par oczu).",
        en: "The invoice needs a second person's approval first (four-eyes).";
    InvoiceNotSendable = "invoice_not_sendable", UNPROCESSABLE_ENTITY,
        pl: "Wybrana faktura nie może zostać wysłana w obecnym stanie (wysłać można tylko szkic lub fakturę zatwierdzoną).",
        en: "The invoice cannot be sent in its state (only a draft or an approved one can).";
    WarningsNotConfirmed = "warnings_not_confirmed", UNPROCESSABLE_ENTITY,
        pl: "Co najmniej jedna z wybranych faktur ma ostrzeżenia. Zaznacz przy każdej z nich, że znasz ostrzeżenia i świadomie decydujesz o wysyłce – decyzja nie została zapisana.",
        en: "An invoice has warnings the caller did not confirm; nothing was decided.";
    FailureNotAnnounced = "failure_not_announced", UNPROCESSABLE_ENTITY,
        pl: "Tryb awarii KSeF wymaga awarii ogłoszonej w Latarni albo Twojego potwierdzenia, że Ministerstwo Finansów ją ogłosiło.",
        en: "The failure mode needs a failure announced by Latarnia or confirmed by the caller.";
    ApprovalByPerson = "approval_by_person", UNPROCESSABLE_ENTITY,
        pl: "Zatwierdzić fakturę może tylko osoba.",
        en: "Only a person can approve an invoice.";
    ApprovalNotNeeded = "approval_not_needed", UNPROCESSABLE_ENTITY,
        pl: "Ten klient nie stosuje zatwierdzania przez drugą osobę.",
        en: "The client does not use four-eyes approval.";
    ApproverIsPreparer = "approver_is_preparer", UNPROCESSABLE_ENTITY,
        pl: "Osoba, która przygotowała fakturę, nie może jej sama zatwierdzić.",
        en: "The person who prepared an invoice cannot approve it.";
    InvoiceNotDraft = "invoice_not_draft", UNPROCESSABLE_ENTITY,
        pl: "Zatwierdzić można tylko szkic faktury.",
        en: "Only a draft can be approved.";
    CredentialRefused = "credential_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie przyjął tego poświadczenia, więc nie zostało zapisane – dotychczasowe poświadczenie działa dalej.",
        en: "KSeF did not accept the credential; it was not stored.";
    CertificateLoginNeeded = "certificate_login_needed", UNPROCESSABLE_ENTITY,
        pl: "KSeF wystawia i unieważnia certyfikaty tylko po zalogowaniu certyfikatem (podpis XAdES), a ten podmiot loguje się tokenem albo nie ma zapisanego poświadczenia. Zapisz najpierw certyfikat (na środowisku testowym KSeF wystarczy samopodpisany).",
        en: "KSeF issues and revokes certificates only after a login with a certificate.";
    CertificateLimitReached = "certificate_limit_reached", UNPROCESSABLE_ENTITY,
        pl: "Limit KSeF dla tego NIP-u jest wyczerpany (aktywne certyfikaty albo wnioski) – KSeF nie przyjmie teraz kolejnego wniosku.",
        en: "KSeF's limit of certificates or requests for this NIP is reached.";
    CertificateEnrollmentRefused = "certificate_enrollment_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie wystawił certyfikatu; nic nie zostało zapisane.",
        en: "KSeF did not issue the certificate; nothing was stored.";
    CertificateKeyMismatch = "certificate_key_mismatch", UNPROCESSABLE_ENTITY,
        pl: "Certyfikat wystawiony przez KSeF nie pasuje do klucza wygenerowanego przez bramkę – nic nie zostało zapisane.",
        en: "The certificate KSeF issued does not match the gateway's key; nothing was stored.";
    CertificateInUse = "certificate_in_use", UNPROCESSABLE_ENTITY,
        pl: "Tego certyfikatu bramka właśnie używa; unieważnienie od razu zatrzyma logowanie (albo KOD II). Najpierw odnów certyfikat albo zaznacz „mimo że bramka go używa”.",
        en: "The gateway uses this certificate; revoking it needs the caller's explicit force.";
    CertificateRevokeRefused = "certificate_revoke_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie unieważnił certyfikatu.",
        en: "KSeF did not revoke the certificate.";
    CertificateLimitsRefused = "certificate_limits_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie podał limitów ani listy certyfikatów.",
        en: "KSeF did not give its certificate limits.";
    CertificateQueryRefused = "certificate_query_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie podał limitów ani listy certyfikatów.",
        en: "KSeF did not give its list of certificates.";
    // Collective identifiers (IZ): the gateway's own checks before KSeF, then KSeF's answers.
    CollectiveTooManyInvoices = "collective_too_many_invoices", UNPROCESSABLE_ENTITY,
        pl: "Identyfikator zbiorczy obejmuje najwyżej 500 faktur. Podziel wybór na kilka identyfikatorów.",
        en: "A collective identifier covers at most 500 invoices.";
    CollectiveInvoiceNotOfClient = "collective_invoice_not_of_client", UNPROCESSABLE_ENTITY,
        pl: "Identyfikator zbiorczy obejmuje tylko faktury jednego klienta.",
        en: "A collective identifier covers invoices of one client only.";
    CollectiveInvoiceNotAccepted = "collective_invoice_not_accepted", UNPROCESSABLE_ENTITY,
        pl: "Do identyfikatora zbiorczego można dodać tylko faktury przyjęte w KSeF (z numerem KSeF).",
        en: "Only invoices accepted by KSeF (with a KSeF number) can be in a collective identifier.";
    KsefCollectiveNotAssignable = "ksef_collective_not_assignable", UNPROCESSABLE_ENTITY,
        pl: "KSeF nie pozwolił przypisać faktury do identyfikatora zbiorczego (71001).",
        en: "KSeF did not let the invoice into a collective identifier (71001).";
    KsefCollectiveLimit = "ksef_collective_limit", UNPROCESSABLE_ENTITY,
        pl: "Faktura jest już w największej dozwolonej liczbie identyfikatorów zbiorczych (71002).",
        en: "The invoice is already in as many collective identifiers as KSeF allows (71002).";
    KsefCollectivePermissionMissing = "ksef_collective_permission_missing", UNPROCESSABLE_ENTITY,
        pl: "W KSeF brakuje uprawnienia do zarządzania identyfikatorami zbiorczymi (CollectiveIdentifierManage).",
        en: "The KSeF permission CollectiveIdentifierManage is missing.";
    KsefRefused = "ksef_refused", UNPROCESSABLE_ENTITY,
        pl: "KSeF odmówił wykonania tej czynności.",
        en: "KSeF refused the request.";
    NoKsefCredential = "no_ksef_credential", UNPROCESSABLE_ENTITY,
        pl: "Klient nie ma poświadczenia KSeF, którym bramka mogłaby się zalogować.",
        en: "The client has no KSeF credential the gateway could log in with.";
}

impl Refusal {
    /// The refusal for a zip package `ksef_fa3` would not open; `None` for its other errors
    /// (schema loading), which are the gateway's own failures.
    pub fn of_package(e: &ksef_fa3::Fa3Error) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.code() == e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_every_refusal_has_words() {
        let mut codes: Vec<&str> = Refusal::ALL.iter().map(|r| r.code()).collect();
        for code in &codes {
            let snake = code.split('_').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
            assert!(snake, "{code} is not snake_case");
        }
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before, "a code is used twice");
        for r in Refusal::ALL {
            assert!(r.pl().trim().len() > 10 && r.en().trim().len() > 10, "{r:?} lacks words");
            assert!(r.status().is_client_error(), "{r:?} is not a refusal");
        }
    }

    #[test]
    fn package_errors_map_to_their_own_codes() {
        let e = ksef_fa3::Fa3Error::PackageDuplicateName { name: "a.xml".into() };
        assert_eq!(Refusal::of_package(&e), Some(Refusal::PackageDuplicateName));
        assert_eq!(Refusal::of_package(&ksef_fa3::Fa3Error::SchemaIo(std::io::Error::other("x"))), None);
    }

    /// The catalogue as people read it: a change of code, status or wording shows in review.
    #[test]
    fn catalogue_snapshot() {
        let table: Vec<String> = Refusal::ALL
            .iter()
            .map(|r| format!("{} {}\n  pl: {}\n  en: {}", r.code(), r.status().as_u16(), r.pl(), r.en()))
            .collect();
        insta::assert_snapshot!(table.join("\n"));
    }
}
