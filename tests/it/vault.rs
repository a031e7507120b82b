//! The credentials vault end to end: nothing in clear in a database dump, rotation, binding.

use secrecy::{ExposeSecret, SecretString};

use ksef_gateway::db::models::Credential;
use ksef_gateway::domain::{KsefTarget, Nip, SendPolicy};
use ksef_gateway::service::clients::{add_client, NewClientInput, KSEF_TOKEN};
use ksef_gateway::service::keys::rotate;
use ksef_gateway::vault::{self, Sealed, VaultError};

use crate::both_backends;
use crate::common::{contains, dump, Backend, TestDb};

both_backends!(credentials_are_sealed_rotated_and_bound);

const TOKEN_A: &str = "20261121-EC-1A2B3C4D5E-6F7A8B9C0D-11|nip-5260250274|c0ffee5ecretA";
const TOKEN_B: &str = "20261121-EC-9F8E7D6C5B-4A3B2C1D0E-22|nip-7740001454|c0ffee5ecretB";

fn input(nip: &str, name: &str) -> NewClientInput {
    NewClientInput {
        nip: Nip::parse(nip).unwrap(),
        name: name.into(),
        ksef: KsefTarget::Test,
        policy: SendPolicy::Manual,
    }
}

async fn credentials_are_sealed_rotated_and_bound(b: Backend) {
    let Some(t) = TestDb::new(b) else { return };
    let st = t.state();
    let a = add_client(&st, input("5260250274", "Alfa Sp. z o.o."), SecretString::from(TOKEN_A), None)
        .await
        .unwrap();
    let bee =
        add_client(&st, input("7740001454", "Beta S.A."), SecretString::from(TOKEN_B), None).await.unwrap();
    let err = add_client(&st, input("5260250274", "Alfa again"), SecretString::from(TOKEN_A), None).await;
    assert!(err.is_err(), "the same NIP twice is refused");

    let d = dump(&t, b);
    assert!(contains(&d, "Alfa Sp. z o.o."), "the dump is readable (sanity check of the dump itself)");
    for secret in [TOKEN_A, TOKEN_B, "c0ffee5ecret"] {
        assert!(!contains(&d, secret), "{secret} found in clear in the {b:?} dump");
    }
    let key_file = std::fs::read_to_string(t.dir.path().join("master.key")).unwrap();
    let key_hex = key_file.lines().find(|l| !l.starts_with('#')).unwrap().split(':').nth(1).unwrap();
    assert!(!contains(&d, key_hex), "the master key never enters the database");

    let load = |client_id: ksef_gateway::domain::ClientId| {
        let st = st.clone();
        async move {
            st.db.tx(move |c| Credential::find_active(c, &client_id, KSEF_TOKEN)).await.unwrap().unwrap()
        }
    };
    let sealed = |c: &Credential| Sealed {
        key_version: u32::try_from(c.key_version).unwrap(),
        nonce: c.nonce.clone(),
        ciphertext: c.ciphertext.clone(),
    };
    let cred_a = load(a.id.clone()).await;
    let cred_b = load(bee.id.clone()).await;
    let opened =
        vault::open(&st.keys, &crate::common::typed_nip("5260250274"), KSEF_TOKEN, &sealed(&cred_a)).unwrap();
    assert_eq!(opened.expose_secret().as_slice(), TOKEN_A.as_bytes());
    // B's ciphertext placed in A's row does not open as A's.
    assert!(matches!(
        vault::open(&st.keys, &crate::common::typed_nip("5260250274"), KSEF_TOKEN, &sealed(&cred_b)),
        Err(VaultError::Tampered)
    ));

    let report = rotate(&st).await.unwrap();
    assert_eq!(report.new_version, 2);
    assert_eq!(report.resealed, 2);
    assert_eq!(report.retired_versions, vec![1]);
    let rotated = load(a.id.clone()).await;
    assert_eq!(rotated.key_version, 2);
    assert_ne!(rotated.ciphertext, cred_a.ciphertext);
    let opened =
        vault::open(&st.keys, &crate::common::typed_nip("5260250274"), KSEF_TOKEN, &sealed(&rotated))
            .unwrap();
    assert_eq!(opened.expose_secret().as_slice(), TOKEN_A.as_bytes());
    // The retired key is gone: the pre-rotation ciphertext no longer opens.
    assert!(
        vault::open(&st.keys, &crate::common::typed_nip("5260250274"), KSEF_TOKEN, &sealed(&cred_a)).is_err()
    );
    // The vault canary moved with the rotation: the next start accepts the rotated key file.
    let _restarted = t.state();
}
