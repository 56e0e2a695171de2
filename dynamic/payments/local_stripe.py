"""Development without Stripe keys: Stripe's checkout and billing portal played locally.

The local checkout page pays by building the events Stripe would send, signing them with the
webhook secret as Stripe does, and handing them to the same function the webhook endpoint
calls (signature check included), so the whole flow, records and pages, runs offline. Only
registered when no Stripe key is configured, which production refuses.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import stripe
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from itsdangerous import BadSignature
from sqlalchemy import select

from dynamic.core.db import as_utc, db
from dynamic.core.forms import ActionForm
from dynamic.core.look import render
from dynamic.payments import ledger
from dynamic.payments.models import Subscription
from dynamic.payments.stripe_client import local_serializer, webhook_secret
from dynamic.payments.webhooks import receive

bp = Blueprint("pay_local", __name__)

PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_CYCLE = "subscription_cycle"


def send(kind: str, obj: dict[str, Any]) -> None:
    """Deliver one event as Stripe would: a JSON body and its Stripe-Signature header."""
    event = {
        "id": "evt_local_" + secrets.token_hex(12),
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, webhook_secret())
    receive(payload.encode(), header)


def _session(token: str) -> dict[str, Any]:
    """The signed Checkout Session parameters, for their own user only."""
    try:
        params = local_serializer().loads(token)
    except BadSignature:
        abort(404)
    if params.get("client_reference_id") != str(current_user.id):
        abort(404)
    return params


@bp.get("/pay/local/checkout/<token>")
@login_required
def checkout(token: str):
    params = _session(token)
    plan = ledger.plans().by_ref(params["metadata"]["floe_plan"])
    if plan is None:
        abort(404)
    return render("payments/local_checkout.html", "Test payment", plan=plan, form=ActionForm())


@bp.post("/pay/local/checkout/<token>")
@login_required
def pay(token: str):
    params = _session(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("outcome") == "cancel":
        return redirect(params["cancel_url"], 303)
    plan = ledger.plans().by_ref(params["metadata"]["floe_plan"])
    if plan is None:
        abort(404)
    session_id = params["session"]
    suffix = session_id.removeprefix("cs_local_")
    now = int(time.time())
    metadata = params["metadata"]
    session = {
        "id": session_id,
        "object": "checkout.session",
        "mode": params["mode"],
        "status": "complete",
        "payment_status": "paid",
        "amount_total": plan.amount,
        "currency": plan.currency,
        "customer": params["customer"],
        "client_reference_id": params["client_reference_id"],
        "metadata": metadata,
        "created": now,
        "payment_intent": None,
        "invoice": None,
        "subscription": None,
    }
    if plan.recurring:
        subscription = _subscription(f"sub_local_{suffix}", params, plan, now)
        invoice = _invoice(f"in_local_{suffix}", subscription, plan, "subscription_create", now)
        send("customer.subscription.created", subscription)
        send("invoice.paid", invoice)
        send("invoice_payment.paid", _invoice_payment(invoice, f"pi_local_{suffix}", now))
        session.update(invoice=invoice["id"], subscription=subscription["id"])
    else:
        session["payment_intent"] = f"pi_local_{suffix}"
    send("checkout.session.completed", session)
    return redirect(params["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)


def _subscription(ident: str, params: dict[str, Any], plan, now: int) -> dict[str, Any]:
    end = now + PERIOD_DAYS[plan.interval] * 86400
    return {
        "id": ident,
        "object": "subscription",
        "status": "active",
        "customer": params["customer"],
        "created": now,
        "cancel_at_period_end": False,
        "metadata": params["metadata"],
        "items": {
            "object": "list",
            "data": [{"price": {"id": plan.price}, "current_period_end": end}],
        },
    }


def _invoice(ident: str, subscription: dict, plan, reason: str, now: int, paid: bool = True):
    return {
        "id": ident,
        "object": "invoice",
        "status": "paid" if paid else "open",
        "amount_paid": plan.amount if paid else 0,
        "amount_due": plan.amount,
        "currency": plan.currency,
        "customer": subscription["customer"],
        "billing_reason": reason,
        "created": now,
        "next_payment_attempt": None if paid else now + 3 * 86400,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription["id"],
                "metadata": subscription["metadata"],
            },
        },
        "lines": {"data": [{"pricing": {"price_details": {"price": plan.price}}}]},
    }


def _invoice_payment(invoice: dict[str, Any], intent: str, now: int) -> dict[str, Any]:
    return {
        "id": "inpay_" + invoice["id"],
        "object": "invoice_payment",
        "invoice": invoice["id"],
        "status": "paid",
        "amount_paid": invoice["amount_paid"],
        "amount_requested": invoice["amount_due"],
        "currency": invoice["currency"],
        "created": now,
        "payment": {"type": "payment_intent", "payment_intent": intent},
    }


@bp.get("/pay/local/portal")
@login_required
def portal():
    """Stripe's Customer Portal, played locally: cancel, or make the next renewal fail."""
    return render(
        "payments/local_portal.html",
        "Test billing portal",
        subscriptions=_subscriptions(),
        form=ActionForm(),
    )


@bp.post("/pay/local/portal/<subscription_id>")
@login_required
def change(subscription_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = next((s for s in _subscriptions() if s.id == subscription_id), None)
    plan = ledger.plans().by_ref(row.plan) if row is not None else None
    if row is None or plan is None:
        abort(404)
    now = int(time.time())
    params = {"customer": row.customer_id, "metadata": {"floe_plan": plan.ref}}
    snapshot = _subscription(row.id, params, plan, now)
    end = as_utc(row.current_period_end) if row.current_period_end else None
    if end is not None:
        snapshot["items"]["data"][0]["current_period_end"] = int(end.timestamp())
    if request.form.get("action") == "fail":
        suffix = secrets.token_hex(6)
        invoice = _invoice(f"in_local_{suffix}", snapshot, plan, _CYCLE, now, paid=False)
        send("invoice.payment_failed", invoice)
        send("customer.subscription.updated", {**snapshot, "status": "past_due"})
        flash("The renewal failed: the subscription is past due, and a mail went out.")
    else:
        send("customer.subscription.deleted", {**snapshot, "status": "canceled"})
        flash("The subscription is canceled.")
    return redirect(url_for("pay_local.portal"))


def _subscriptions() -> list[Subscription]:
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.user_id == current_user.id)
            .order_by(Subscription.created_at.desc())
        )
    )
