//! Master keys by version. The key file holds one `VERSION:HEX` line per key, the last one
//! current; older versions stay readable until `keys rotate` has re-sealed everything.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use secrecy::{ExposeSecret, SecretBox, SecretString};

/// A 256-bit master key.
pub type MasterKey = SecretBox<[u8; 32]>;

/// Why the master keys could not be loaded or saved. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("master key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("master key file {0} does not exist")]
    Missing(PathBuf),
    #[error("master key file {path}, line {line}: {why}")]
    Malformed { path: PathBuf, line: usize, why: &'static str },
    #[error("vault.master_key: {0}")]
    BadInlineKey(&'static str),
    #[error("no master key version {0}: the key file lacks it (was it rotated away?)")]
    UnknownVersion(u32),
    #[error("random number generator failed")]
    Rng,
}

/// All master keys this process knows, and where they came from.
pub struct Keyring {
    keys: RwLock<BTreeMap<u32, MasterKey>>,
    file: Option<PathBuf>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("file", &self.file).field("versions", &self.versions()).finish()
    }
}

impl Keyring {
    /// An inline key from configuration (version 1), or the key file, which must exist
    /// ([`Keyring::create`] makes one; `server::bootstrap` decides when that is safe).
    pub fn load(file: &Path, inline: Option<&SecretString>) -> Result<Self, KeyringError> {
        if let Some(hex_key) = inline {
            let key = parse_key(hex_key.expose_secret()).map_err(KeyringError::BadInlineKey)?;
            return Ok(Self { keys: RwLock::new(BTreeMap::from([(1, key)])), file: None });
        }
        if !file.exists() {
            return Err(KeyringError::Missing(file.into()));
        }
        let keys = read_file(file)?;
        Ok(Self { keys: RwLock::new(keys), file: Some(file.into()) })
    }

    /// A fresh key written to `file` (mode 0600).
    pub fn create(file: &Path) -> Result<Self, KeyringError> {
        let ring = Self { keys: RwLock::new(BTreeMap::from([(1, random_key()?)])), file: Some(file.into()) };
        ring.save()?;
        tracing::warn!(path = %file.display(), "Generated a new master key; back it up, losing it loses every stored credential");
        Ok(ring)
    }

    /// The key file, when the keys come from one (not from `vault.master_key`).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Warns when the key file can be read by anyone but its owner: whoever reads it can open
    /// every stored credential.
    pub fn warn_if_exposed(&self) {
        #[cfg(unix)]
        if let Some(file) = &self.file {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(file) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %file.display(),
                        mode = format!("{mode:o}"),
                        "Master key file {} is readable by group or others (mode {mode:o}); run chmod 600 on it",
                        file.display()
                    );
                }
            }
        }
    }

    /// An in-memory keyring for tests and one-off tools.
    pub fn ephemeral() -> Result<Self, KeyringError> {
        Ok(Self { keys: RwLock::new(BTreeMap::from([(1, random_key()?)])), file: None })
    }

    /// The version new ciphertexts are sealed with.
    pub fn current_version(&self) -> u32 {
        self.read().keys().next_back().copied().unwrap_or(0)
    }

    /// Every version known, oldest first.
    pub fn versions(&self) -> Vec<u32> {
        self.read().keys().copied().collect()
    }

    /// Runs `f` with the key of `version`. A version this process does not know yet may have
    /// been added by `keys rotate` in another process: re-read the file once before giving up,
    /// which is what lets rotation happen without restarting servers.
    pub fn with_key<T>(&self, version: u32, f: impl FnOnce(&[u8; 32]) -> T) -> Result<T, KeyringError> {
        if !self.read().contains_key(&version) {
            self.reload()?;
        }
        let keys = self.read();
        let key = keys.get(&version).ok_or(KeyringError::UnknownVersion(version))?;
        Ok(f(key.expose_secret()))
    }

    /// Adds a fresh key as the new current version and writes the file; returns the version.
    pub fn add_new_key(&self) -> Result<u32, KeyringError> {
        let version = self.current_version() + 1;
        crate::locks::write(&self.keys).insert(version, random_key()?);
        self.save()?;
        Ok(version)
    }

    /// Forgets every version but the current one and writes the file (after re-sealing).
    pub fn retire_old_keys(&self) -> Result<Vec<u32>, KeyringError> {
        let current = self.current_version();
        let mut keys = crate::locks::write(&self.keys);
        let retired: Vec<u32> = keys.keys().copied().filter(|v| *v != current).collect();
        keys.retain(|v, _| *v == current);
        drop(keys);
        self.save()?;
        Ok(retired)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u32, MasterKey>> {
        crate::locks::read(&self.keys)
    }

    fn reload(&self) -> Result<(), KeyringError> {
        if let Some(file) = &self.file {
            let fresh = read_file(file)?;
            *crate::locks::write(&self.keys) = fresh;
        }
        Ok(())
    }

    /// Writes the file atomically (temp file + rename) with owner-only permissions.
    fn save(&self) -> Result<(), KeyringError> {
        let Some(file) = &self.file else { return Ok(()) };
        let io = |e| KeyringError::Io(file.clone(), e);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_fs::create_dir(dir).map_err(io)?;
        }
        let tmp = file.with_extension("tmp");
        let mut text = String::from(
            "# ksef-gateway master keys: VERSION:HEX, the last is current. Secret; back it up.\n",
        );
        for (v, k) in self.read().iter() {
            text.push_str(&format!("{v}:{}\n", hex::encode(k.expose_secret())));
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        // The mode above applies only to a new file and passes through the umask; set it outright.
        crate::private_fs::set_mode(&tmp, 0o600).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, file).map_err(io)
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<u32, MasterKey>, KeyringError> {
    let text = std::fs::read_to_string(path).map_err(|e| KeyringError::Io(path.into(), e))?;
    let mut keys = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why| KeyringError::Malformed { path: path.into(), line: i + 1, why };
        let (v, k) = line.split_once(':').ok_or_else(|| bad("expected VERSION:HEX"))?;
        let version: u32 = v.trim().parse().map_err(|_| bad("version is not a number"))?;
        keys.insert(version, parse_key(k.trim()).map_err(bad)?);
    }
    if keys.is_empty() {
        return Err(KeyringError::Malformed { path: path.into(), line: 0, why: "no key in file" });
    }
    Ok(keys)
}

fn parse_key(hex_key: &str) -> Result<MasterKey, &'static str> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut key).map_err(|_| "must be 64 hex digits (256 bits)")?;
    Ok(SecretBox::new(Box::new(key)))
}

fn random_key() -> Result<MasterKey, KeyringError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|_| KeyringError::Rng)?;
    Ok(SecretBox::new(Box::new(key)))
}
