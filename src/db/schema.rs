// One schema for both backends. `tests/schema_drift.rs` checks that the SQLite and the
// PostgreSQL migrations both produce exactly these tables, columns, types and nullability.

diesel::table! {
    api_keys (id) {
        client_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        id -> Text,
        key_hash -> Binary,
        last_used_at -> Nullable<Timestamp>,
        name -> Text,
        prefix -> Text,
        revoked_at -> Nullable<Timestamp>,
        scopes -> Text,
    }
}

diesel::table! {
    audit_events (seq) {
        action -> Text,
        actor_id -> Nullable<Text>,
        actor_kind -> Text,
        at -> Timestamp,
        client_id -> Nullable<Text>,
        hash -> Text,
        id -> Text,
        payload -> Text,
        prev_hash -> Text,
        seq -> BigInt,
        subject -> Nullable<Text>,
    }
}

diesel::table! {
    certificate_enrollments (id) {
        certificate_type -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        error -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
        id -> Text,
        key_algorithm -> Text,
        key_ciphertext -> Nullable<Binary>,
        key_nonce -> Nullable<Binary>,
        key_version -> Nullable<BigInt>,
        ksef_environment -> Text,
        reference_number -> Nullable<Text>,
        serial_number -> Nullable<Text>,
        state -> Text,
        subject_nip -> Text,
    }
}

diesel::table! {
    clients (id) {
        created_at -> Timestamp,
        credential_mode -> Text,
        id -> Text,
        ksef_environment -> Text,
        name -> Text,
        nip -> Text,
        paused_reason -> Nullable<Text>,
        send_policy -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    collective_identifier_invoices (id) {
        collective_identifier_id -> Text,
        description -> Nullable<Text>,
        id -> Text,
        invoice_id -> Text,
        ksef_number -> Text,
        payment_amount -> Nullable<Text>,
        payment_currency -> Nullable<Text>,
    }
}

diesel::table! {
    collective_identifiers (id) {
        client_id -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        id -> Text,
        invoice_count -> BigInt,
        number -> Text,
    }
}

diesel::table! {
    credentials (id) {
        active -> Bool,
        ciphertext -> Binary,
        client_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        fingerprint -> Text,
        id -> Text,
        key_version -> BigInt,
        kind -> Text,
        ksef_permissions -> Nullable<Text>,
        last_auth_error -> Nullable<Text>,
        last_auth_ok_at -> Nullable<Timestamp>,
        nonce -> Binary,
        retired_at -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    grants (id) {
        can_delegate -> Bool,
        client_id -> Text,
        created_at -> Timestamp,
        granted_by -> Nullable<Text>,
        id -> Text,
        parent_grant_id -> Nullable<Text>,
        permissions -> Text,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        user_id -> Text,
    }
}

diesel::table! {
    invoice_documents (invoice_id) {
        invoice_id -> Text,
        xml -> Binary,
    }
}

diesel::table! {
    invoice_events (id) {
        actor -> Text,
        at -> Timestamp,
        client_id -> Text,
        id -> Text,
        invoice_id -> Text,
        kind -> Text,
        note -> Nullable<Text>,
        state -> Text,
    }
}

diesel::table! {
    invoice_totals (client_id) {
        client_id -> Text,
        invoice_count -> BigInt,
    }
}

diesel::table! {
    invoices (id) {
        approved_at -> Nullable<Timestamp>,
        approved_by -> Nullable<Text>,
        buyer_name -> Nullable<Text>,
        buyer_nip -> Nullable<Text>,
        client_id -> Text,
        corrects_invoice_id -> Nullable<Text>,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        currency -> Nullable<Text>,
        findings -> Text,
        gross_minor -> Nullable<BigInt>,
        gross_total -> Nullable<Text>,
        id -> Text,
        invoice_reference -> Nullable<Text>,
        invoice_type -> Nullable<Text>,
        issue_date -> Nullable<Date>,
        ksef_number -> Nullable<Text>,
        ksef_status_code -> Nullable<BigInt>,
        ksef_status_description -> Nullable<Text>,
        number -> Nullable<Text>,
        offline_deadline -> Nullable<Timestamp>,
        offline_mode -> Bool,
        seller_nip -> Nullable<Text>,
        session_reference -> Nullable<Text>,
        sha256 -> Text,
        size_bytes -> BigInt,
        source -> Text,
        state -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ksef_sessions (id) {
        client_id -> Text,
        closed_at -> Nullable<Timestamp>,
        id -> Text,
        invoice_count -> BigInt,
        kind -> Text,
        opened_at -> Timestamp,
        reference -> Nullable<Text>,
        state -> Text,
        status_code -> Nullable<BigInt>,
        updated_at -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        wrapped_key -> Nullable<Binary>,
    }
}

diesel::table! {
    list_visits (id) {
        id -> Text,
        list_key -> Text,
        user_id -> Text,
        visited_at -> Timestamp,
    }
}

diesel::table! {
    office_access (client_id) {
        checked_at -> Timestamp,
        client_id -> Text,
        ksef_permissions -> Nullable<Text>,
        last_error -> Nullable<Text>,
        last_ok_at -> Nullable<Timestamp>,
        office_credential_id -> Text,
    }
}

diesel::table! {
    office_credentials (id) {
        active -> Bool,
        ciphertext -> Binary,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        fingerprint -> Text,
        id -> Text,
        key_version -> BigInt,
        kind -> Text,
        ksef_environment -> Text,
        last_auth_error -> Nullable<Text>,
        last_auth_ok_at -> Nullable<Timestamp>,
        nonce -> Binary,
        office_nip -> Text,
        retired_at -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbox (id) {
        attempts -> BigInt,
        client_id -> Text,
        created_at -> Timestamp,
        decision_id -> Text,
        id -> Text,
        invoice_id -> Text,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        status -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    purchase_invoices (id) {
        acquisition_date -> Timestamp,
        buyer_name -> Nullable<Text>,
        buyer_nip -> Nullable<Text>,
        client_id -> Text,
        currency -> Text,
        gross_amount -> BigInt,
        id -> Text,
        invoice_hash -> Text,
        invoice_number -> Text,
        invoice_type -> Text,
        issue_date -> Date,
        ksef_number -> Text,
        net_amount -> BigInt,
        permanent_storage_date -> Timestamp,
        seller_name -> Nullable<Text>,
        seller_nip -> Text,
        subject_type -> Text,
        synced_at -> Timestamp,
        vat_amount -> BigInt,
        xml -> Nullable<Binary>,
        xml_fetched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    purchase_sync (id) {
        client_id -> Text,
        cursor_from -> Timestamp,
        gap_count -> BigInt,
        hwm -> Nullable<Timestamp>,
        id -> Text,
        last_checked_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_run_at -> Nullable<Timestamp>,
        next_run_at -> Timestamp,
        subject_type -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    send_decisions (id) {
        actor_id -> Text,
        actor_kind -> Text,
        client_id -> Text,
        created_at -> Timestamp,
        id -> Text,
        invoice_count -> BigInt,
        invoice_hashes -> Text,
        offline -> Bool,
        policy -> Text,
        source_ip -> Nullable<Text>,
    }
}

diesel::table! {
    sender_leases (client_id) {
        acquired_at -> Timestamp,
        client_id -> Text,
        expires_at -> Timestamp,
        holder -> Text,
    }
}

diesel::table! {
    upos (id) {
        client_id -> Text,
        fetched_at -> Timestamp,
        id -> Text,
        invoice_id -> Nullable<Text>,
        ksef_session_id -> Nullable<Text>,
        sha256 -> Text,
        xml -> Binary,
    }
}

diesel::table! {
    user_sessions (id) {
        created_at -> Timestamp,
        expires_at -> Timestamp,
        id -> Text,
        ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        user_id -> Text,
    }
}

diesel::table! {
    users (id) {
        client_id -> Nullable<Text>,
        created_at -> Timestamp,
        disabled -> Bool,
        display_name -> Text,
        email -> Text,
        id -> Text,
        last_login_at -> Nullable<Timestamp>,
        password_hash -> Text,
        role -> Text,
    }
}

diesel::table! {
    vault_canary (id) {
        ciphertext -> Binary,
        created_at -> Timestamp,
        id -> Text,
        key_version -> BigInt,
        nonce -> Binary,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        attempts -> BigInt,
        claimed_until -> Nullable<Timestamp>,
        client_id -> Text,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        id -> Text,
        last_error -> Nullable<Text>,
        last_status_code -> Nullable<BigInt>,
        next_attempt_at -> Timestamp,
        payload -> Text,
        status -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        active -> Bool,
        client_id -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
        deleted_at -> Nullable<Timestamp>,
        events -> Text,
        id -> Text,
        secret_ciphertext -> Binary,
        secret_key_version -> BigInt,
        secret_nonce -> Binary,
        updated_at -> Timestamp,
        url -> Text,
    }
}

diesel::joinable!(users -> clients (client_id));
diesel::joinable!(user_sessions -> users (user_id));
diesel::joinable!(list_visits -> users (user_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(grants -> clients (client_id));
diesel::joinable!(api_keys -> clients (client_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(credentials -> clients (client_id));
diesel::joinable!(credentials -> users (created_by));
diesel::joinable!(invoices -> clients (client_id));
diesel::joinable!(invoices -> users (approved_by));
diesel::joinable!(invoice_documents -> invoices (invoice_id));
diesel::joinable!(invoice_events -> invoices (invoice_id));
diesel::joinable!(invoice_events -> clients (client_id));
diesel::joinable!(invoice_totals -> clients (client_id));
diesel::joinable!(send_decisions -> clients (client_id));
diesel::joinable!(outbox -> invoices (invoice_id));
diesel::joinable!(outbox -> clients (client_id));
diesel::joinable!(outbox -> send_decisions (decision_id));
diesel::joinable!(ksef_sessions -> clients (client_id));
diesel::joinable!(upos -> clients (client_id));
diesel::joinable!(upos -> invoices (invoice_id));
diesel::joinable!(upos -> ksef_sessions (ksef_session_id));
diesel::joinable!(purchase_invoices -> clients (client_id));
diesel::joinable!(purchase_sync -> clients (client_id));
diesel::joinable!(sender_leases -> clients (client_id));
diesel::joinable!(webhook_endpoints -> clients (client_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> clients (client_id));
diesel::joinable!(office_credentials -> users (created_by));
diesel::joinable!(office_access -> clients (client_id));
diesel::joinable!(office_access -> office_credentials (office_credential_id));
diesel::joinable!(certificate_enrollments -> clients (client_id));
diesel::joinable!(certificate_enrollments -> users (created_by));
diesel::joinable!(collective_identifiers -> clients (client_id));
diesel::joinable!(collective_identifier_invoices -> collective_identifiers (collective_identifier_id));
diesel::joinable!(collective_identifier_invoices -> invoices (invoice_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_events,
    certificate_enrollments,
    clients,
    collective_identifier_invoices,
    collective_identifiers,
    credentials,
    grants,
    invoice_documents,
    invoice_events,
    invoice_totals,
    invoices,
    ksef_sessions,
    list_visits,
    office_access,
    office_credentials,
    outbox,
    purchase_invoices,
    purchase_sync,
    send_decisions,
    sender_leases,
    upos,
    user_sessions,
    users,
    vault_canary,
    webhook_deliveries,
    webhook_endpoints,
);
