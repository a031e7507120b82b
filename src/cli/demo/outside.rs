//! An invoice the client issued in KSeF outside the office (say, from its own accounting
//! program) before the office sent its copy under the same number: KSeF rejects the office's
//! copy as a duplicate (440), which shows the demo's `rejected` state with KSeF's code and
//! reason in plain words.

use ksef_client::online::SendOptions;
use ksef_client::{ContextIdentifier, FormCode, KsefClient, SecretString};

/// Sends `xml` for `nip` straight to KSeF with the client's own token, as another program would.
pub async fn issue_elsewhere(
    ksef: &KsefClient,
    nip: &str,
    token: &SecretString,
    xml: &[u8],
) -> Result<(), String> {
    let tokens = ksef
        .authenticate_with_ksef_token(&ContextIdentifier::nip(nip), token)
        .await
        .map_err(|e| e.to_string())?;
    let access = &tokens.access_token.token;
    let session = ksef.open_online_session(access, &FormCode::fa3()).await.map_err(|e| e.to_string())?;
    ksef.send_invoice(access, &session, xml, &SendOptions::default()).await.map_err(|e| e.to_string())?;
    ksef.close_online_session(access, &session.reference_number).await.map_err(|e| e.to_string())
}
