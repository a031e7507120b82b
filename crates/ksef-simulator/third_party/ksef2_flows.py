#!/usr/bin/env python3
"""Runs the independent `ksef2` Python SDK (PyPI) against a running ksef-simulator.

Only the SDK's public API is used, as its README documents it. The SDK binds its base URL to
`Environment` (the real MF hosts) and rejects a custom `http_client.base_url`, so the one piece
of configuration here is an httpx transport that dials the simulator whenever the request is for
the TEST host: the equivalent of a hosts-file entry, leaving every request (path, headers, body)
exactly as the SDK built it. TLS is verified against the simulator's self-signed certificate.

Exits non-zero with a message on the first mismatch.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import ssl
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from ksef2 import Client, Environment, FormSchema, KSeFAuthError, KSeFInvoiceRejectedError, TransportConfig
from ksef2.models import BatchInvoice, InvoicesFilter

ENV = Environment.TEST
ENV_HOST = httpx.URL(ENV.base_url).host
# Official samples with distinct (RodzajFaktury, P_2), all with P_1 in the past: no duplicates.
ONLINE_SAMPLE = "FA_3_Przykład_1.xml"
BATCH_SAMPLES = ["FA_3_Przykład_2.xml", "FA_3_Przykład_8.xml", "FA_3_Przykład_10.xml", "FA_3_Przykład_11.xml"]
KSEF_NUMBER = re.compile(r"^\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}$")


class SimulatorRoute(httpx.BaseTransport):
    """Sends requests for the TEST host to the simulator (the SDK has no base-URL option)."""

    def __init__(self, target: httpx.URL, ca_file: Path) -> None:
        self._target = target
        self._inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(ca_file)))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == ENV_HOST:
            request.url = request.url.copy_with(
                scheme=self._target.scheme, host=self._target.host, port=self._target.port
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"MISMATCH: {what}")
    print(f"  ok  {what}")


def seller_nip(xml: bytes) -> str:
    match = re.search(rb"<Podmiot1>.*?<NIP>(\d{10})</NIP>", xml, re.S)
    if match is None:
        raise SystemExit("sample has no Podmiot1/NIP")
    return match.group(1).decode()


def online_flow(auth, xml: bytes, nip: str) -> str:
    print("online session (FA(3)): send, close, wait, UPO, download")
    with auth.online_session(form_code=FormSchema.FA3) as session:
        submission = session.send_invoice(xml)
        session_ref = session.reference_number
    check(session_ref.count("-") == 4 and len(session_ref) == 36, f"session reference {session_ref}")
    status = submission.wait(timeout=30.0, poll_interval=0.5)
    ksef_number = status.ksef_number or ""
    check(status.status.code == 200, f"invoice status 200 ({status.status.description})")
    check(bool(KSEF_NUMBER.match(ksef_number)) and ksef_number.startswith(nip), f"KSeF number {ksef_number}")
    upo = submission.download_upo()
    check(ksef_number.encode() in upo and b"Potwierdzenie" in upo, f"invoice UPO names the invoice ({len(upo)} B)")
    final = session.wait(timeout=30.0, poll_interval=0.5)
    check(final.status.code == 200, f"session status 200 ({final.status.description})")
    pages = session.download_upo()
    check(len(pages) >= 1 and ksef_number.encode() in pages[0], f"session UPO: {len(pages)} page(s)")
    downloaded = auth.invoices.download(ksef_number, timeout=30.0, poll_interval=0.5)
    check(downloaded == xml, f"downloaded invoice is byte-identical ({len(downloaded)} B)")
    return ksef_number


def duplicate_flow(auth, xml: bytes, first: str) -> None:
    print("online session: the same invoice again is a duplicate (440)")
    with auth.online_session(form_code=FormSchema.FA3) as session:
        submission = session.send_invoice(xml)
    try:
        submission.wait(timeout=30.0, poll_interval=0.5)
    except KSeFInvoiceRejectedError as err:
        status = err.status
        check(status.status.code == 440, f"rejected with 440 ({status.status.description})")
        extensions = status.status.extensions or {}
        check(extensions.get("originalKsefNumber") == first, "440 names the original KSeF number")
        return
    raise SystemExit("MISMATCH: a duplicate invoice was accepted")


def batch_flow(auth, samples: list[tuple[str, bytes]]) -> list[str]:
    print(f"batch session: {len(samples)} invoices, upload, close, wait, UPO")
    prepared = auth.batch.prepare([BatchInvoice(file_name=name, content=xml) for name, xml in samples])
    with auth.batch_session(prepared_batch=prepared) as session:
        session.upload_parts()
    final = session.wait(timeout=60.0, poll_interval=0.5)
    check(final.status.code == 200, f"batch session status 200 ({final.status.description})")
    check(final.invoice_count == len(samples), f"invoiceCount {final.invoice_count}")
    check(final.successful_invoice_count == len(samples), f"successfulInvoiceCount {final.successful_invoice_count}")
    invoices = session.list_invoices(page_size=100).invoices
    numbers = sorted(i.ksef_number for i in invoices if i.ksef_number)
    check(len(numbers) == len(samples) and all(KSEF_NUMBER.match(n) for n in numbers), "every invoice has a KSeF number")
    names = sorted(i.invoice_file_name or "" for i in invoices)
    check(names == sorted(name for name, _ in samples), "invoiceFileName echoes the zip entries")
    pages = session.download_upo()
    check(len(pages) >= 1 and all(n.encode() in b"".join(pages) for n in numbers), f"batch UPO: {len(pages)} page(s)")
    by_name = {i.invoice_file_name: i.ksef_number for i in invoices}
    for name, xml in samples:
        downloaded = auth.invoices.download(by_name[name], timeout=30.0, poll_interval=0.5)
        check(downloaded == xml, f"{name} downloads byte-identical")
    return numbers


def query_flow(auth, expected: list[str]) -> None:
    print("invoice metadata query (seller, PermanentStorage)")
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    filters = InvoicesFilter(role="seller", date_type="permanent_storage", date_from=since)
    found = sorted(m.ksef_number for m in auth.invoices.search(filters))
    check(found == sorted(expected), f"query finds the {len(expected)} accepted invoices")


def xades_and_management_flow(client, nip: str, token_nip_auth) -> None:
    print("XAdES with the SDK's own self-signed seal (signxml), then tokens and sessions")
    auth = client.authentication.with_test_certificate(nip=nip, poll_interval=0.2)
    check(auth.access_token.count(".") == 2, f"XAdES seal VATPL-{nip} authenticates as context owner")
    online = list(auth.invoice_sessions.list("online"))
    batch = list(auth.invoice_sessions.list("batch"))
    check(len(online) == 2 and len(batch) == 1, f"GET /sessions lists {len(online)} online, {len(batch)} batch")
    totals = sorted((s.total_invoice_count, s.successful_invoice_count, s.failed_invoice_count) for s in online)
    check(totals == [(1, 0, 1), (1, 1, 0)], f"online session counts {totals}")
    # Not called: auth.limits.get_context_limits(). ksef2 targets API 2.9 and requires a
    # `collectiveIdentifier` member that API 2.6 (openapi.json, the simulator's contract) does not have.

    generated = auth.tokens.generate(permissions=["invoice_read"], description="ksef2 interop check")
    generated.wait(timeout=10.0, poll_interval=0.2)
    reader = client.authentication.with_token(ksef_token=generated.token, nip=nip, poll_interval=0.2)
    listed = [t.reference_number for t in auth.tokens.list()]
    check(generated.reference_number in listed, "generated token is listed and authenticates")
    reader_sessions = list(reader.sessions.list())
    check(any(s.is_current for s in reader_sessions), f"GET /auth/sessions: {len(reader_sessions)} incl. current")
    auth.tokens.revoke(reference_number=generated.reference_number)
    try:
        client.authentication.with_token(ksef_token=generated.token, nip=nip, poll_interval=0.2, timeout=10.0)
    except KSeFAuthError as err:
        check(True, f"revoked token is refused ({type(err).__name__})")
    else:
        raise SystemExit("MISMATCH: a revoked token still authenticates")
    # Revoking an authentication session kills its refresh token; a live access token survives
    # until it expires (ksef-docs auth/sesje.md).
    refresh = token_nip_auth.refresh_token
    client.authentication.refresh(refresh_token=refresh)
    token_nip_auth.sessions.terminate_current()
    list(token_nip_auth.invoice_sessions.list("online"))
    check(True, "after DELETE /auth/sessions/current the access token still works")
    try:
        client.authentication.refresh(refresh_token=refresh)
    except KSeFAuthError:
        check(True, "... and its refresh token is refused")
    else:
        raise SystemExit("MISMATCH: a revoked authentication session still refreshes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", required=True, help="simulator origin, e.g. https://localhost:8443")
    parser.add_argument("--ca", required=True, type=Path, help="simulator certificate (PEM)")
    parser.add_argument("--token", required=True, help="KSeF token registered for the samples' seller NIP")
    parser.add_argument("--examples", required=True, type=Path, help="folder with the official FA(3) samples")
    args = parser.parse_args()

    started = time.monotonic()
    online_xml = (args.examples / ONLINE_SAMPLE).read_bytes()
    nip = seller_nip(online_xml)
    batch = [(name, (args.examples / name).read_bytes()) for name in BATCH_SAMPLES]
    for name, xml in batch:
        check(seller_nip(xml) == nip, f"{name} has seller NIP {nip}")

    http = httpx.Client(transport=SimulatorRoute(httpx.URL(args.sim), args.ca))
    with Client(ENV, http_client=http, transport_config=TransportConfig()) as client:
        print(f"authenticate with a KSeF token for NIP {nip}")
        auth = client.authentication.with_token(ksef_token=args.token, nip=nip, poll_interval=0.2)
        check(auth.access_token.count(".") == 2, "access token is a JWT")
        first = online_flow(auth, online_xml, nip)
        duplicate_flow(auth, online_xml, first)
        numbers = batch_flow(auth, batch)
        query_flow(auth, [first, *numbers])
        xades_and_management_flow(client, nip, auth)
    http.close()
    digest = base64.b64encode(hashlib.sha256(online_xml).digest()).decode()
    print(f"ksef2 flows: all passed in {time.monotonic() - started:.1f}s (online sample sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
