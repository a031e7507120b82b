//! Webhooks: the events a client's systems can subscribe to, and where a delivery stands.

crate::text_enum! {
    /// What happened, as the `type` of an event and the `X-KSeF-Gateway-Event` header name it.
    pub enum WebhookEvent ("webhook event") {
        /// An invoice moved between W, O and A, or was rejected.
        InvoiceStateChanged = "invoice.state_changed",
        /// A purchase invoice of the client was synced from KSeF.
        PurchaseInvoiceReceived = "purchase_invoice.received"
    }
}

crate::text_enum! {
    /// Where one delivery (an event to one endpoint) stands.
    pub enum DeliveryStatus ("delivery status") {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// The endpoint answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; only a manual redelivery tries again.
        Failed = "failed",
        /// The endpoint was deleted before the event got through.
        Cancelled = "cancelled"
    }
}

/// A set of subscribed events, stored comma-separated in declaration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSet(Vec<WebhookEvent>);

impl EventSet {
    /// Parses event names (comma-separated or one per item); an unknown name is an error, an
    /// empty set too (an endpoint that hears nothing is a mistake).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut set = Vec::new();
        for raw in names.iter().flat_map(|n| n.as_ref().split(',')) {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let event = WebhookEvent::parse(raw)?;
            if !set.contains(&event) {
                set.push(event);
            }
        }
        if set.is_empty() {
            return Err("choose at least one event".to_owned());
        }
        set.sort();
        Ok(Self(set))
    }

    pub fn contains(&self, e: WebhookEvent) -> bool {
        self.0.contains(&e)
    }

    pub fn iter(&self) -> impl Iterator<Item = WebhookEvent> + '_ {
        self.0.iter().copied()
    }
}

impl std::fmt::Display for EventSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|e| e.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sets_parse_dedupe_and_refuse_unknown_or_empty() {
        let set =
            EventSet::parse(&["purchase_invoice.received, invoice.state_changed", "invoice.state_changed"]);
        assert_eq!(
            set.map(|s| s.to_string()),
            Ok("invoice.state_changed,purchase_invoice.received".to_owned())
        );
        assert!(EventSet::parse(&["invoice.deleted"]).is_err());
        assert!(EventSet::parse::<&str>(&[]).is_err());
        assert!(EventSet::parse(&[" , "]).is_err());
    }
}
