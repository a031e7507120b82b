//! `GET /`: the caller's clients with their credential's health and invoice counts per state.

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::labels::when;
use super::{ok, Layout, PanelError, PanelUser};
use crate::domain::{CredentialMode, InvoiceState, Nip, StatusLetter};
use crate::service::certificates::KSEF_CERTIFICATE;
use crate::service::clients::{self, ClientView};
use crate::service::lifetime::ExpiryWarning;
use crate::service::panel_views;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(dashboard);
}

/// One client as a dashboard row.
struct ClientRow {
    nip: Nip,
    name: String,
    policy: &'static str,
    /// None when no credential is stored.
    credential: Option<CredentialRow>,
    /// In office mode: whether KSeF lets the office in, and what is missing when not.
    office: Option<OfficeRow>,
    paused_reason: Option<String>,
    counts: Counts,
}

struct CredentialRow {
    kind: &'static str,
    fingerprint: String,
    last_ok: String,
    last_error: Option<String>,
    valid_until: Option<String>,
    warning: Option<ExpiryWarning>,
}

struct OfficeRow {
    ok: bool,
    explanation: Option<String>,
}

/// A stored credential near (or past) the end of its validity: 30/14/7-day warnings.
struct Expiring {
    /// Whose: a client's name, or the office.
    whose: String,
    /// Where to fix it.
    href: String,
    valid_until: String,
    warning: ExpiryWarning,
    /// A certificate: where the gateway renews it (enrolls a new one and switches to it).
    renew: Option<String>,
}

/// Invoices per status letter and the states before a decision.
#[derive(Default)]
struct Counts {
    drafts: i64,
    invalid: i64,
    w: i64,
    o: i64,
    a: i64,
    rejected: i64,
}

impl Counts {
    /// The W, O and A counts with their letters, for the tiles.
    fn letters(&self) -> [(StatusLetter, i64); 3] {
        [(StatusLetter::W, self.w), (StatusLetter::O, self.o), (StatusLetter::A, self.a)]
    }

    fn from_states(rows: &[(InvoiceState, i64)]) -> Self {
        let mut c = Self::default();
        for &(state, n) in rows {
            match state {
                InvoiceState::Draft | InvoiceState::Approved => c.drafts += n,
                InvoiceState::Invalid => c.invalid += n,
                InvoiceState::Rejected => c.rejected += n,
                s => match s.letter() {
                    Some(StatusLetter::W) => c.w += n,
                    Some(StatusLetter::O) => c.o += n,
                    Some(StatusLetter::A) => c.a += n,
                    None => {}
                },
            }
        }
        c
    }

    fn add(&mut self, o: &Self) {
        self.drafts += o.drafts;
        self.invalid += o.invalid;
        self.w += o.w;
        self.o += o.o;
        self.a += o.a;
        self.rejected += o.rejected;
    }
}

#[derive(Template)]
#[template(path = "panel/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    clients: Vec<ClientRow>,
    total: Counts,
    notices: Vec<super::notice::KsefNotice>,
    offline_due: Vec<OfflineDue>,
    /// All of them, when there are more than the list shows.
    offline_due_total: i64,
    stuck: Vec<Stuck>,
    expiring: Vec<Expiring>,
    inbox: super::approvals::InboxView,
}

/// Invoices of one client stuck in one state beyond the watchdog's limit.
struct Stuck {
    nip: Nip,
    letter: &'static str,
    label: &'static str,
    count: i64,
    since: String,
}

/// An invoice issued offline whose deadline for reaching KSeF is near or past.
struct OfflineDue {
    id: crate::domain::InvoiceId,
    nip: Nip,
    number: String,
    deadline: String,
    passed: bool,
}

/// Deadlines within this window are shown on the dashboard.
const DEADLINE_WARNING_HOURS: i64 = 36;

fn row(c: ClientView, counts: Counts) -> ClientRow {
    let office_mode = c.credential_mode == CredentialMode::Office;
    ClientRow {
        policy: c.send_policy.label_pl(),
        office: c.office_access.map(|a| OfficeRow { ok: a.ok, explanation: a.explanation_pl }),
        // In office mode the client's own credential is not what logs in: not shown here.
        credential: c.credential.filter(|_| !office_mode).map(|k| CredentialRow {
            kind: if k.kind == KSEF_CERTIFICATE { "certyfikat KSeF" } else { "token KSeF" },
            fingerprint: k.fingerprint,
            last_ok: k.last_auth_ok_at.map_or_else(|| "jeszcze nie było".to_owned(), when),
            last_error: k.last_auth_error,
            valid_until: k.validity.valid_until.map(when),
            warning: k.validity.expiry_warning,
        }),
        nip: c.nip,
        name: c.name,
        paused_reason: c.paused_reason,
        counts,
    }
}

#[get("/")]
async fn dashboard(st: web::Data<AppState>, me: PanelUser) -> Result<HttpResponse, PanelError> {
    let visible = clients::list_visible(&st, &me.caller).await?;
    let notices = super::notice::for_environments(&st, visible.iter().map(|c| c.ksef_environment.as_str()));
    let mut total = Counts::default();
    let mut rows = Vec::with_capacity(visible.len());
    let mut expiring = expiring_of(&st, &me, &visible).await?;
    expiring.sort_by_key(|e| e.warning);
    for c in visible {
        // A client may be visible through `users` alone: listed, with no invoices shown.
        let counts = if super::may(&c, crate::auth::Permission::Read) {
            Counts::from_states(&panel_views::state_counts(&st, &me.caller, &c.id).await?)
        } else {
            Counts::default()
        };
        total.add(&counts);
        rows.push(row(c, counts));
    }
    let now = crate::db::models::ids::now();
    let (due, offline_due_total) =
        panel_views::offline_due(&st, &me.caller, chrono::Duration::hours(DEADLINE_WARNING_HOURS)).await?;
    let offline_due = due
        .into_iter()
        .map(|(inv, nip)| OfflineDue {
            passed: inv.offline_deadline.is_some_and(|d| d < now),
            deadline: inv.offline_deadline.map(when).unwrap_or_default(),
            number: inv.number.unwrap_or_else(|| "(bez numeru)".into()),
            id: inv.id,
            nip,
        })
        .collect();
    let stuck = panel_views::stuck(&st, &me.caller)
        .await?
        .into_iter()
        .map(|g| Stuck {
            nip: g.nip,
            letter: g.state.letter().unwrap_or(StatusLetter::W).as_str(),
            label: g.state.label_pl(),
            count: g.count,
            since: when(g.oldest),
        })
        .collect();
    let page = DashboardPage {
        layout: Layout::for_user("Pulpit", &me),
        clients: rows,
        total,
        notices,
        offline_due,
        offline_due_total,
        stuck,
        expiring,
        inbox: super::approvals::inbox(&st, &me).await?,
    };
    ok(&page)
}

/// The credentials the caller looks after that expire within 30 days: the clients' own (where
/// it may manage credentials) and, for office admins, the office's.
async fn expiring_of(
    st: &AppState,
    me: &PanelUser,
    visible: &[ClientView],
) -> Result<Vec<Expiring>, PanelError> {
    let mut out: Vec<Expiring> = visible
        .iter()
        .filter(|c| {
            c.credential_mode == CredentialMode::Own && super::may(c, crate::auth::Permission::Credentials)
        })
        .filter_map(|c| {
            let k = c.credential.as_ref()?;
            Some(Expiring {
                whose: c.name.clone(),
                href: format!("/klienci/{}/dostepy#poswiadczenie-h", c.nip),
                valid_until: k.validity.valid_until.map(when)?,
                warning: k.validity.expiry_warning?,
                renew: (k.kind == crate::service::certificates::KSEF_CERTIFICATE)
                    .then(|| format!("/klienci/{}/certyfikaty?typ=authentication", c.nip)),
            })
        })
        .collect();
    if me.user.role == crate::auth::Role::OfficeAdmin {
        if let Some(o) = crate::service::office::show(st, &me.caller).await? {
            if let (Some(warning), Some(until)) = (o.validity.expiry_warning, o.validity.valid_until) {
                out.push(Expiring {
                    whose: format!("biuro (NIP {})", o.office_nip),
                    href: "/biuro/poswiadczenie".to_owned(),
                    valid_until: when(until),
                    warning,
                    renew: (o.kind == crate::domain::OfficeCredentialKind::Certificate)
                        .then(|| "/biuro/certyfikaty?typ=authentication".to_owned()),
                });
            }
        }
    }
    Ok(out)
}
