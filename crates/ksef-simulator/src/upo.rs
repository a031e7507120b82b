//! UPO documents (Urzędowe Poświadczenie Odbioru) per `upo-v4-3.xsd`, modelled on the official
//! examples. Not XAdES-signed: the simulator has no MF signing key, and the XSD has no signature element.

use std::fmt::Write;

use crate::state::{Accepted, Invoice, Session};
use crate::time;

/// Maximum documents per session UPO page.
pub const PAGE_SIZE: usize = 10_000;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn header(out: &mut String, session: &Session, auth_token_ref: &str) {
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<Potwierdzenie xmlns=\"http://upo.schematy.mf.gov.pl/KSeF/v4-3\">\n");
    out.push_str("\t<NazwaPodmiotuPrzyjmujacego>Ministerstwo Finansów</NazwaPodmiotuPrzyjmujacego>\n");
    let _ = writeln!(out, "\t<NumerReferencyjnySesji>{}</NumerReferencyjnySesji>", session.reference);
    let _ = writeln!(
        out,
        "\t<Uwierzytelnienie>\n\t\t<IdKontekstu>\n\t\t\t<Nip>{}</Nip>\n\t\t</IdKontekstu>\n\t\t<NumerReferencyjnyTokenaKSeF>{}</NumerReferencyjnyTokenaKSeF>\n\t</Uwierzytelnienie>",
        session.nip, auth_token_ref
    );
}

fn form(out: &mut String) {
    out.push_str("\t<NazwaStrukturyLogicznej>Schemat_FA(3)_v1-0E.xsd</NazwaStrukturyLogicznej>\n");
    out.push_str("\t<KodFormularza>FA (3)</KodFormularza>\n");
}

fn document(out: &mut String, inv: &Invoice, acc: &Accepted) {
    let _ = writeln!(
        out,
        "\t<Dokument>\n\t\t<NipSprzedawcy>{}</NipSprzedawcy>\n\t\t<NumerKSeFDokumentu>{}</NumerKSeFDokumentu>\n\t\t<NumerFaktury>{}</NumerFaktury>\n\t\t<DataWystawieniaFaktury>{}</DataWystawieniaFaktury>\n\t\t<DataPrzeslaniaDokumentu>{}</DataPrzeslaniaDokumentu>\n\t\t<DataNadaniaNumeruKSeF>{}</DataNadaniaNumeruKSeF>\n\t\t<SkrotDokumentu>{}</SkrotDokumentu>\n\t\t<TrybWysylki>{}</TrybWysylki>\n\t</Dokument>",
        acc.seller_nip,
        acc.ksef_number,
        escape(inv.invoice_number.as_deref().unwrap_or_default()),
        acc.issue_date.format("%Y-%m-%d"),
        time::fmt(inv.received),
        time::fmt(inv.ready_at.max(inv.received)),
        inv.hash,
        if inv.offline { "Offline" } else { "Online" },
    );
}

/// The UPO of one accepted invoice.
pub fn invoice_upo(session: &Session, token_ref: &str, inv: &Invoice, acc: &Accepted) -> String {
    let mut out = String::with_capacity(2048);
    header(&mut out, session, token_ref);
    form(&mut out);
    document(&mut out, inv, acc);
    out.push_str("</Potwierdzenie>\n");
    out
}

/// One page of the session UPO: `docs` are the page's documents, `first` the 1-based ordinal of the
/// first of them among `total` accepted documents.
pub fn session_upo(
    session: &Session,
    token_ref: &str,
    page: (usize, usize),
    first: usize,
    total: usize,
    docs: &[(&Invoice, &Accepted)],
) -> String {
    let mut out = String::with_capacity(1024 + docs.len() * 600);
    header(&mut out, session, token_ref);
    let _ = writeln!(
        out,
        "\t<OpisPotwierdzenia>\n\t\t<Strona>{}</Strona>\n\t\t<LiczbaStron>{}</LiczbaStron>\n\t\t<ZakresDokumentowOd>{}</ZakresDokumentowOd>\n\t\t<ZakresDokumentowDo>{}</ZakresDokumentowDo>\n\t\t<CalkowitaLiczbaDokumentow>{}</CalkowitaLiczbaDokumentow>\n\t</OpisPotwierdzenia>",
        page.0,
        page.1,
        first,
        first + docs.len().saturating_sub(1),
        total
    );
    form(&mut out);
    for (inv, acc) in docs {
        document(&mut out, inv, acc);
    }
    out.push_str("</Potwierdzenie>\n");
    out
}
