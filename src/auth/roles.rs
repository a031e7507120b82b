//! Roles of people, the permissions a grant carries, and the scopes of API keys.

use std::fmt;

/// What kind of person a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the gateway: every client, every permission, the root of all delegations.
    OfficeAdmin,
    /// Works on the clients delegated to them, with the permissions delegated.
    Accountant,
    /// A client company's board member (członek zarządu): their own company only.
    BoardMember,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::OfficeAdmin, Self::Accountant, Self::BoardMember];

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "office-admin" => Ok(Self::OfficeAdmin),
            "accountant" => Ok(Self::Accountant),
            "board-member" => Ok(Self::BoardMember),
            other => Err(format!("unknown role {other:?} (office-admin, accountant, board-member)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfficeAdmin => "office-admin",
            Self::Accountant => "accountant",
            Self::BoardMember => "board-member",
        }
    }

    /// The role in Polish. The data has no grammatical gender, so the forms are neutral
    /// ("osoba księgowa", not "księgowy" or "księgowa"), the same on every page.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::OfficeAdmin => "osoba administrująca biurem",
            Self::Accountant => "osoba księgowa",
            Self::BoardMember => "członek zarządu",
        }
    }
}

/// One thing a grant allows on one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// See invoices, statuses, UPOs, purchase invoices.
    Read,
    /// Upload and validate invoices (prepare).
    Upload,
    /// Decide to send to KSeF.
    Send,
    /// Approve as the second person (four-eyes policy).
    Approve,
    /// Store, replace and check the client's KSeF credential; change its send policy.
    Credentials,
    /// Read and export the client's audit trail.
    Audit,
    /// Delegate and revoke access to the client; manage its API keys.
    Users,
}

impl Permission {
    pub const ALL: [Self; 7] =
        [Self::Read, Self::Upload, Self::Send, Self::Approve, Self::Credentials, Self::Audit, Self::Users];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Upload => "upload",
            Self::Send => "send",
            Self::Approve => "approve",
            Self::Credentials => "credentials",
            Self::Audit => "audit",
            Self::Users => "users",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw).ok_or_else(|| {
            format!("unknown permission {raw:?} (read, upload, send, approve, credentials, audit, users)")
        })
    }

    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Read => "podgląd faktur",
            Self::Upload => "przygotowanie faktur",
            Self::Send => "wysyłka do KSeF",
            Self::Approve => "zatwierdzanie",
            Self::Credentials => "poświadczenia KSeF",
            Self::Audit => "dziennik audytu",
            Self::Users => "dostępy i klucze API",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of permissions, stored as a comma-separated list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermissionSet(u8);

impl PermissionSet {
    pub fn all() -> Self {
        Self::from_iter(Permission::ALL)
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    /// True when every permission of `other` is also in `self`.
    pub fn covers(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Parses `read,upload,send`; blanks are ignored, unknown names are an error.
    pub fn parse(raw: &str) -> Result<Self, String> {
        raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Permission::parse).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().fold(0, |acc, p| acc | p.bit()))
    }
}

impl fmt::Display for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Permission::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// What a client system may do with its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiScope {
    /// Upload invoices.
    Submit,
    /// Read invoices, statuses and UPOs.
    Read,
    /// Send to KSeF, only where the client's policy is `api-auto`.
    Send,
    /// Fetch purchase invoices.
    Purchase,
}

impl ApiScope {
    pub const ALL: [Self; 4] = [Self::Submit, Self::Read, Self::Send, Self::Purchase];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Read => "read",
            Self::Send => "send",
            Self::Purchase => "purchase",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| format!("unknown API key scope {raw:?} (submit, read, send, purchase)"))
    }

    /// The permission this scope stands for on the key's own client.
    pub fn permission(self) -> Permission {
        match self {
            Self::Submit => Permission::Upload,
            Self::Read | Self::Purchase => Permission::Read,
            Self::Send => Permission::Send,
        }
    }
}

/// The scopes of one API key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(Vec<ApiScope>);

impl ScopeSet {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut scopes = Vec::new();
        for s in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let scope = ApiScope::parse(s)?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        if scopes.is_empty() {
            return Err("an API key needs at least one scope (submit, read, send, purchase)".into());
        }
        Ok(Self(scopes))
    }

    pub fn contains(&self, s: ApiScope) -> bool {
        self.0.contains(&s)
    }

    /// The permissions the key's scopes stand for: what its creator must hold to issue it.
    pub fn permissions(&self) -> PermissionSet {
        self.0.iter().map(|s| s.permission()).collect()
    }

    /// True when some scope of the key grants `p` on the key's client. `purchase` grants no
    /// permission of its own: it opens the purchase invoices only (`access::require_purchase`),
    /// so a key made for fetching purchases does not read the client's sales invoices.
    pub fn allows(&self, p: Permission) -> bool {
        self.0.iter().any(|s| *s != ApiScope::Purchase && s.permission() == p)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_sets_round_trip_and_cover() {
        let set = PermissionSet::parse("send, read").unwrap_or_default();
        assert_eq!(set.to_string(), "read,send");
        assert!(PermissionSet::all().covers(set));
        assert!(!set.covers(PermissionSet::all()));
        assert!(PermissionSet::parse("read,fly").is_err());
    }

    #[test]
    fn scopes_map_to_permissions() {
        let s = ScopeSet::parse("submit,read").unwrap_or_default();
        assert!(s.allows(Permission::Upload) && s.allows(Permission::Read));
        assert!(!s.allows(Permission::Send));
        let all = ScopeSet::parse("read,submit,send,purchase").unwrap_or_default();
        assert_eq!(all.permissions().to_string(), "read,upload,send");
        assert!(ScopeSet::parse("").is_err());
        let purchase = ScopeSet::parse("purchase").unwrap_or_default();
        assert!(!purchase.allows(Permission::Read), "purchase opens purchase invoices only");
        assert_eq!(purchase.permissions().to_string(), "read", "but its creator must hold read");
    }
}
