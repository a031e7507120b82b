//! XAdES authentication: reading the signed `AuthTokenRequest`, exclusive canonicalisation and
//! XML-DSig verification (RSA-SHA256 and ECDSA-P256-SHA256 over exclusive C14N).

pub mod c14n;
pub mod tree;
pub mod verify;
