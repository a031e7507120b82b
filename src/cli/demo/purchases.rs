//! Purchase invoices for the demo office's clients: outside sellers invoice every demo client
//! through KSeF on each start (the embedded simulator keeps nothing between runs), next to the
//! invoices the demo clients send each other. The purchase sync fetches them within seconds.

use ksef_client::online::SendOptions;
use ksef_client::{ContextIdentifier, FormCode, KsefClient, SecretString};

use super::invoices::demo_invoice_between;

/// Sellers outside the office: (NIP, name, invoice number prefix).
const SELLERS: [(&str, &str, &str); 3] = [
    ("9520000011", "Młyn Zbożowy Kłos sp. z o.o.", "MK"),
    ("6771000018", "Energia Demo S.A.", "ED"),
    ("8973000011", "Biuro Serwis IT Demo sp. z o.o.", "IT"),
];

/// Invoices per outside seller and demo client.
const PER_CLIENT: usize = 2;

/// Each outside seller, with a token the simulator knows, invoices each of `buyers` (NIP, name).
pub async fn seed(
    sim: &ksef_simulator::RunningSimulator,
    ksef: &KsefClient,
    buyers: &[(&str, &str)],
) -> Result<usize, String> {
    let month = crate::service::intake::today_in_poland().format("%Y/%m").to_string();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut sent = 0;
    for (nip, name, prefix) in SELLERS {
        let token = format!("20261121-EC-DEMO-OUTSIDE|nip-{nip}|{run}");
        sim.add_token(nip, &token, &["InvoiceWrite", "InvoiceRead"]);
        let tokens = ksef
            .authenticate_with_ksef_token(&ContextIdentifier::nip(nip), &SecretString::from(token))
            .await
            .map_err(|e| e.to_string())?;
        let access = &tokens.access_token.token;
        let session = ksef.open_online_session(access, &FormCode::fa3()).await.map_err(|e| e.to_string())?;
        for (b, buyer) in buyers.iter().enumerate() {
            for i in 1..=PER_CLIENT {
                // Numbers differ per run: KSeF refuses a seller's number twice.
                let number = format!("{prefix}/{month}/{}{b}{i}", &run[26..]);
                let xml = demo_invoice_between((nip, name), *buyer, &number);
                ksef.send_invoice(access, &session, &xml, &SendOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                sent += 1;
            }
        }
        ksef.close_online_session(access, &session.reference_number).await.map_err(|e| e.to_string())?;
    }
    Ok(sent)
}
