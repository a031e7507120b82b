-- What a timeline entry records (`EventKind`): the watchdog finds its flags by kind, not by the
-- words its note begins with. Entries written before are told apart by those words this once:
-- the watchdog's notes always began with `watchdog:` followed by the state.
ALTER TABLE invoice_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'step';
UPDATE invoice_events SET kind = 'watchdog' WHERE substr(note, 1, 9) = 'watchdog:';
