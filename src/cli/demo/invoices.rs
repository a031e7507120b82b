//! The demo office's invoices, in every state a person meets: drafts, an invalid one with its
//! findings, one awaiting a second person's approval and one approved, decisions to send (the
//! senders take them to W, O and A against the embedded simulator), and one issued offline.

use secrecy::ExposeSecret;

use crate::auth::ScopeSet;
use crate::db::models::{ClientScope, Invoice, InvoiceFilter};
use crate::domain::{ClientId, InvoiceId, Nip};
use crate::error::AppError;
use crate::offline::OfflineMode;
use crate::service::access::{Caller, KeyCaller};
use crate::service::decisions::{self, SendRequest};
use crate::service::intake::{self, today_in_poland, Source};
use crate::service::{apikeys, users};
use crate::state::AppState;

/// The official sample FA(3) invoice the demo's invoices are made from.
const TEMPLATE: &str =
    include_str!("../../../crates/ksef-client/tests/fixtures/examples/FA_3_Przyklad_1.xml");

/// The template as issued today by `seller_nip` with number `number`.
pub fn demo_invoice(seller_nip: &str, number: &str) -> Vec<u8> {
    let today = today_in_poland().format("%Y-%m-%d").to_string();
    TEMPLATE
        .replacen("<NIP>9999999999</NIP>", &format!("<NIP>{seller_nip}</NIP>"), 1)
        .replace("<P_2>FV2026/02/150</P_2>", &format!("<P_2>{number}</P_2>"))
        .replace("<P_1>2026-02-15</P_1>", &format!("<P_1>{today}</P_1>"))
        .into_bytes()
}

/// [`demo_invoice`] sold to `buyer` (NIP, name) instead of the template's buyer, under the
/// seller's `seller_name`: the demo's clients invoice each other and are invoiced from outside.
pub fn demo_invoice_between(seller: (&str, &str), buyer: (&str, &str), number: &str) -> Vec<u8> {
    String::from_utf8_lossy(&demo_invoice(seller.0, number))
        .replacen("<Nazwa>ABC AGD sp. z o. o.</Nazwa>", &format!("<Nazwa>{}</Nazwa>", seller.1), 1)
        .replacen("<NIP>1111111111</NIP>", &format!("<NIP>{}</NIP>", buyer.0), 1)
        .replacen("<Nazwa>F.H.U. Jan Kowalski</Nazwa>", &format!("<Nazwa>{}</Nazwa>", buyer.1), 1)
        .into_bytes()
}

/// A demo client as seller or buyer: (NIP, name).
fn demo_party(nip: &str) -> (&str, &str) {
    super::DEMO_CLIENTS.iter().find(|(n, ..)| *n == nip).map_or((nip, ""), |(n, name, ..)| (*n, *name))
}

/// A person of the demo office, as the services see them after logging in.
async fn person(st: &AppState, email: &str) -> Result<Caller, AppError> {
    let login = users::login(st, email, &super::people::DEMO_PASSWORD.into(), None).await?;
    let (caller, _) = users::resolve_session(st, &login.token).await?.ok_or(AppError::Unauthenticated)?;
    Ok(Caller::User(caller))
}

async fn upload(
    st: &AppState,
    who: &Caller,
    client_id: &ClientId,
    xml: Vec<u8>,
) -> Result<InvoiceId, AppError> {
    let results = intake::submit(st, who, client_id, xml, Source::Panel).await?;
    results.first().map(|r| r.invoice.id.clone()).ok_or(AppError::NotFound)
}

async fn send(
    st: &AppState,
    who: &Caller,
    ids: Vec<InvoiceId>,
    offline: Option<OfflineMode>,
) -> Result<(), AppError> {
    decisions::decide_send(
        st,
        who,
        SendRequest {
            invoice_ids: ids,
            offline: offline.map(Into::into),
            failure_confirmed: false,
            source_ip: Some("127.0.0.1".into()),
        },
    )
    .await?;
    Ok(())
}

/// Seeds the invoices unless the office already has some; returns the demo API key when it
/// was created now (it can only ever be shown once).
pub async fn seed(
    st: &AppState,
    clients: &[(ClientId, Nip)],
    outside_ksef: Option<(ksef_client::KsefClient, ksef_client::SecretString)>,
) -> Result<Option<String>, AppError> {
    if !st
        .db
        .tx(|c| {
            Invoice::list(
                c,
                &ClientScope::All,
                &InvoiceFilter::default(),
                crate::service::invoices::DEFAULT_ORDER,
                None,
                1,
            )
        })
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let id_of = |nip: &str| {
        clients.iter().find(|(_, n)| n == nip).map(|(id, _)| id.clone()).ok_or(AppError::NotFound)
    };
    let (bakery, wholesale, shop) = (id_of("5260250274")?, id_of("7740001454")?, id_of("1132853869")?);
    let accountant = person(st, "ksiegowa@biuro.demo").await?;
    let assistant = person(st, "asystent@biuro.demo").await?;
    let board = person(st, "zarzad@mazur.demo").await?;
    let year = today_in_poland().format("%Y").to_string();

    // Piekarnia (manual): sent ones (bread for the shop, another demo client: a purchase
    // invoice there), drafts prepared by the assistant, an invalid one, offline.
    let (bakery_party, wholesale_party, shop_party) =
        (demo_party("5260250274"), demo_party("7740001454"), demo_party("1132853869"));
    let mut sent = Vec::new();
    for i in 1..=3 {
        let xml = demo_invoice_between(bakery_party, shop_party, &format!("FV/{i}/{year}"));
        sent.push(upload(st, &accountant, &bakery, xml).await?);
    }
    send(st, &accountant, sent, None).await?;
    for i in 4..=5 {
        upload(st, &assistant, &bakery, demo_invoice("5260250274", &format!("FV/{i}/{year}"))).await?;
    }
    let broken = String::from_utf8_lossy(&demo_invoice("5260250274", &format!("FV/6/{year}")))
        .replacen("<NIP>1111111111</NIP>", "<NIP>1111111112</NIP>", 1)
        .replace("<P_2>", "<P_2X>")
        .into_bytes();
    upload(st, &assistant, &bakery, broken).await?;
    // Issued offline; the bakery has a KSeF offline certificate, so it carries KOD II too.
    super::certificate::seed_offline(st, &bakery, "5260250274").await?;
    let offline =
        upload(st, &accountant, &bakery, demo_invoice("5260250274", &format!("FV/7/{year}"))).await?;
    send(st, &accountant, vec![offline], Some(OfflineMode::Offline24)).await?;
    // FV/8 was already issued in KSeF by the bakery's own program, with other contents: the
    // office's copy comes back rejected as a duplicate (440).
    if let Some((ksef, token)) = outside_ksef {
        let number = format!("FV/8/{year}");
        let theirs = String::from_utf8_lossy(&demo_invoice("5260250274", &number))
            .replacen("F.H.U. Jan Kowalski", "Jan Kowalski", 1)
            .into_bytes();
        super::outside::issue_elsewhere(&ksef, "5260250274", &token, &theirs)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("issuing the outside invoice: {e}")))?;
        let ours = upload(st, &accountant, &bakery, demo_invoice("5260250274", &number)).await?;
        send(st, &accountant, vec![ours], None).await?;
    }

    // Hurtownia (four-eyes): one awaiting approval, one approved by the board member and sent.
    upload(st, &accountant, &wholesale, demo_invoice("7740001454", &format!("HB/1/{year}"))).await?;
    let approved =
        upload(st, &accountant, &wholesale, demo_invoice("7740001454", &format!("HB/2/{year}"))).await?;
    decisions::approve(st, &board, &approved, None).await?;
    let hb3 = demo_invoice_between(wholesale_party, bakery_party, &format!("HB/3/{year}"));
    let to_send = upload(st, &accountant, &wholesale, hb3).await?;
    decisions::approve(st, &board, &to_send, None).await?;
    send(st, &accountant, vec![to_send], None).await?;

    // Sklep (api-auto): its shop system uploads and sends with its own API key, in bulk.
    let scopes = ScopeSet::parse("submit,read,send").map_err(AppError::invalid)?;
    let shop_nip = crate::domain::Nip::exact("1132853869").map_err(AppError::invalid)?;
    let key = apikeys::create(st, &Caller::Operator, &shop_nip, "Sklep internetowy", scopes, None).await?;
    let shop_system = Caller::ApiKey(KeyCaller {
        id: key.key.id.clone(),
        client_id: shop.clone(),
        scopes: ScopeSet::parse(&key.key.scopes).map_err(AppError::invalid)?,
    });
    let mut bulk = Vec::new();
    for i in 1..=12 {
        let number = format!("SKLEP/{i}/{year}");
        // A few go to the wholesaler, another demo client.
        let xml = if i <= 4 {
            demo_invoice_between(shop_party, wholesale_party, &number)
        } else {
            demo_invoice("1132853869", &number)
        };
        bulk.push(upload(st, &shop_system, &shop, xml).await?);
    }
    send(st, &shop_system, bulk, None).await?;
    Ok(Some(key.plaintext.expose_secret().to_owned()))
}
