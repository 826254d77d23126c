"""The Idempotency-Key store: a keyed API request and its response, in the command's transaction.

A request claims its key with one INSERT at the start of the transaction that runs the command,
and stores its response in the same transaction. So a key is either done (committed with its
response) or free (rolled back with everything else), never half-done:

- A retry while the first request runs waits at its INSERT for the first to finish, then
  replays the first response, or runs the command itself if the first rolled back.
- A request that crashes, or whose database restarts under it, loses its transaction and with
  it the claim: nothing stays "in flight".
- The lease: the claim also bounds how long the transaction may sit idle
  (IDEMPOTENCY_LEASE_SECONDS), so a request hung in Python while holding its key has its
  session ended by Postgres, and a waiting retry takes the key over.

Expired keys are purged by a periodic task (`api.tasks.purge_expired`), not on the request
path; one older than IDEMPOTENCY_KEY_TTL that the purge has not reached yet still replays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response

from api.errors import exception_handler
from api.models import IdempotentRequest
from api.throttling import client_scope
from core.error_codes import CommonErrorCode
from core.errors import DomainError

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)

_TABLE = IdempotentRequest._meta.db_table
# The CTE must feed the INSERT, or Postgres would not evaluate it. The lease is transaction
# local (set_config(..., true)): it ends with the claim.
_CLAIM = f"""
    WITH lease AS (SELECT set_config('idle_in_transaction_session_timeout', %s, true))
    INSERT INTO {_TABLE} (scope, key, fingerprint, response_headers, created_at)
    SELECT %s, %s, %s, '{{}}', now() FROM lease
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
"""


@dataclass(frozen=True)
class Claim:
    """A key this transaction holds (`id` set), or the earlier request's stored response."""

    id: int | None = None
    status: int | None = None
    body: object = None
    headers: dict | None = None


def claim(*, scope: str, key: str, fingerprint: str) -> Claim:
    """Claim `key` in the caller's transaction, or return the earlier request's response.
    Raises core.errors.IdempotencyKeyReused when the earlier request had another fingerprint."""
    if not connection.in_atomic_block:
        raise RuntimeError("claim() must run inside the command's transaction.atomic()")
    lease_ms = str(int(settings.IDEMPOTENCY_LEASE_SECONDS * 1000))
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [lease_ms, scope, key, fingerprint])
            row = cursor.fetchone()
        if row is not None:
            return Claim(id=row[0])
        # Taken, and committed: the INSERT waited for the other transaction to end. (Gone
        # again only if the purge took it in between: then claim it afresh.)
        earlier = IdempotentRequest.objects.filter(scope=scope, key=key).first()
        if earlier is not None:
            break
    if earlier.fingerprint != fingerprint:
        raise CommonErrorCode.IDEMPOTENCY_KEY_REUSED.error(
            "This Idempotency-Key was used with a different request body.",
            fields={"Idempotency-Key": "Use a new key for a new request."},
        )
    return Claim(
        status=earlier.response_status,
        body=earlier.response_body,
        headers=earlier.response_headers,
    )


_STORE = f"""
    UPDATE {_TABLE}
    SET response_status = %s, response_body = %s::jsonb, response_headers = %s::jsonb
    WHERE id = %s
"""


def store(claimed: Claim, *, status: int, body, headers: dict) -> None:
    """The response of a claimed request, written before its transaction commits. Written out,
    as the claim is: the ORM's update() compiled the same statement anew on every keyed request,
    a twentieth of its CPU."""
    stored_body = None if body is None else json.dumps(body)  # no body: NULL, as before
    with connection.cursor() as cursor:
        cursor.execute(_STORE, [status, stored_body, json.dumps(headers), claimed.id])


def purge_expired(*, now=None) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL; returns how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def replay_or_run(request, key: str, run, *, replayed_headers) -> Response:
    """The Idempotency-Key contract around `run` (a command's view): the first request with a
    key runs it and stores its answer; a retry with the same body replays that answer."""
    # Control characters (NUL above all, which Postgres refuses in text) would be a 500.
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise exceptions.ValidationError(
            {"Idempotency-Key": ["Use 1 to 255 printable characters."]}
        )
    scope = client_scope(request)
    body = json.dumps(request.data, sort_keys=True, default=str)
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
    # One transaction for the claim, the command and the stored response: the command's
    # own atomic() becomes a savepoint, so a refusal (DomainError) is stored and replayed,
    # while any other exception rolls everything back and leaves the key free.
    with transaction.atomic():
        claimed = claim(scope=scope, key=key, fingerprint=fingerprint)
        if claimed.id is None:
            return Response(claimed.body, status=claimed.status, headers=claimed.headers)
        try:
            response = run()
        except DomainError as error:
            response = exception_handler(error, {})
        store(
            claimed,
            status=response.status_code,
            body=response.data,
            headers={h: response[h] for h in replayed_headers if h in response},
        )
    return response
