"""Delivering the notification outbox (the transactional outbox of govcloud/service/db.py).

The service writes a message in the same transaction as the change it announces; this module
hands pending messages, in order, to a webhook (a mail relay or chat bridge the operator runs)
and marks each delivered once the webhook answered 2xx. Delivery is at least once: a message is
marked after the webhook took it, so a crash in between sends it again, and receivers de-duplicate
by the message id. The webhook gets the recipients resolved to e-mail addresses through the
recorded Principals document, so it needs no knowledge of roles or municipality codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from govcloud.service import db
from govcloud.tenants.principals import Directory


@dataclass(frozen=True)
class Delivery:
    sent: int
    pending: int
    failure: str | None = None


def pending(Session: sessionmaker, limit: int = 1000) -> list[db.OutboxMessage]:
    with Session() as s:
        return list(s.scalars(select(db.OutboxMessage).where(db.OutboxMessage.delivered_at.is_(None))
                              .order_by(db.OutboxMessage.id).limit(limit)))


def addresses(directory: Directory | None, recipients: list[str]) -> list[str]:
    """E-mail addresses of the recipients: principal ids, a role (``platform``, ``security``) or a
    municipality code (its approvers). A recipient nobody answers to resolves to no address."""
    if directory is None:
        return []
    out: set[str] = set()
    for who in recipients:
        for p in directory.by_id.values():
            if p.id == who or p.role == who or (p.role == "municipality" and who in p.municipalities):
                out.add(p.email)
    return sorted(out)


def message_json(message: db.OutboxMessage, directory: Directory | None) -> dict:
    recipients = json.loads(message.recipients)
    return {"id": message.id, "event": message.event, "createdAt": message.created_at.isoformat(),
            "recipients": recipients, "to": addresses(directory, recipients), "payload": json.loads(message.payload)}


def deliver(Session: sessionmaker, directory: Directory | None, url: str, *, http, limit: int = 1000) -> Delivery:
    """POST each pending message, oldest first, as JSON; stop at the first failure so that order
    is kept (the next run starts from there)."""
    sent = 0
    batch = pending(Session, limit)
    for message in batch:
        try:
            response = http.post(url, json=message_json(message, directory),
                                 headers={"Idempotency-Key": f"govcloud-outbox-{message.id}"})
        except Exception as exc:  # noqa: BLE001 — any transport failure stops the run, named
            return Delivery(sent, len(batch) - sent, f"message {message.id}: {type(exc).__name__}: {exc}")
        if not 200 <= response.status_code < 300:
            return Delivery(sent, len(batch) - sent, f"message {message.id}: the webhook answered {response.status_code}")
        with Session.begin() as s:
            row = s.get(db.OutboxMessage, message.id)
            if row is not None and row.delivered_at is None:
                row.delivered_at = db.utcnow()
        sent += 1
    return Delivery(sent, len(pending(Session, limit)))
