"""Payment pages: confirm a plan, go to Stripe Checkout, see the result, open the billing
portal. The endpoint Stripe's webhooks post to is on this blueprint too (``pay.webhook``); its
view is in dynamic/payments/webhooks.py.

The pricing pages link to ``GET /app/pay/checkout?plan=KEY``. What was paid is only ever
learnt from webhooks (dynamic/payments/webhooks.py): the success page shows "pending" until the
event arrives, whatever the browser was told.
"""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length, Regexp

from dynamic.accounts.models import User
from dynamic.accounts.sessions import signed_in_user
from dynamic.core import inputs
from dynamic.core.db import db
from dynamic.core.forms import ActionForm
from dynamic.core.look import render
from dynamic.core.site_url import absolute_url
from dynamic.payments import ledger, stripe_client, webhooks
from dynamic.payments.models import CheckoutSession, Payment, StripeCustomer, Subscription
from dynamic.payments.plans import Plan
from dynamic.payments.stripe_client import PaymentServiceError, gateway

bp = Blueprint("pay", __name__, template_folder="templates")  # payments/templates/

_ATTEMPT = r"^[A-Za-z0-9_-]{16,64}$"
#: A plan's key in site/plans.toml (checkout_sessions.plan holds it).
PLAN_KEY_MAX = 64
#: Seconds between reloads of the success page while the payment is pending.
RELOAD_SECONDS = 3


class CheckoutForm(FlaskForm):
    plan = HiddenField(validators=[DataRequired(), Length(max=PLAN_KEY_MAX)])
    #: One per confirm page: a double click sends the same one, so Stripe (through the
    #: idempotency key) answers both with the same Checkout Session.
    attempt = HiddenField(validators=[DataRequired(), Regexp(_ATTEMPT)])


def _plan(key: str | None) -> Plan:
    """The request's tenant's plan ``key``, or a 404 page that says so."""
    plan = ledger.plans().get((g.tenant.key, key or ""))
    if plan is None:
        page = render(
            "core/message.html",
            "No such plan",
            404,
            heading="No such plan",
            message=f"{g.tenant.name} has no plan called “{key or ''}”. See the pricing page.",
        )
        abort(current_app.make_response(page))
    return plan


def _subscribed() -> ledger.Entitlement | None:
    current = ledger.entitlement(current_user.id)
    return current if current.paid and current.status != "purchase" else None


def _confirm_page(plan: Plan, form: CheckoutForm, status: int = 200):
    return render(
        "payments/checkout.html",
        f"{plan.name}: checkout",
        status,
        plan=plan,
        form=form,
        subscribed=_subscribed() if plan.recurring else None,
        local=stripe_client.is_local(),
    )


@bp.get("/pay/checkout")
def checkout():
    """The confirm page the pricing pages link to (after sign-up, for anonymous visitors)."""
    plan = _plan(inputs.text_arg("plan", max_length=PLAN_KEY_MAX))
    if not current_user.is_authenticated:
        return redirect(url_for("auth.signup", next=url_for("pay.checkout", plan=plan.key)))
    if request.args.get("canceled"):
        flash("Payment canceled: nothing was charged.")
    form = CheckoutForm(plan=plan.key, attempt=secrets.token_urlsafe(24), formdata=None)
    return _confirm_page(plan, form)


@bp.post("/pay/checkout")
@login_required
def start_checkout():
    """Create the Checkout Session and send the buyer to it."""
    form = CheckoutForm()
    plan = _plan(form.plan.data)
    if not form.validate_on_submit():
        return _confirm_page(plan, form, 400)
    if plan.recurring and _subscribed() is not None:
        return _confirm_page(plan, form, 409)
    user = signed_in_user()
    try:
        customer = customer_for(user)
        session_id, url = gateway().create_checkout_session(
            session_params(user, plan, customer),
            idempotency_key=f"floe-checkout-{user.id}-{plan.ref}-{form.attempt.data}",
        )
    except PaymentServiceError as error:
        current_app.logger.error("checkout of %s for user %s: %s", plan.ref, user.id, error)
        return _unavailable()
    if db.session.get(CheckoutSession, session_id) is None:  # a double click: the same session
        db.session.add(
            CheckoutSession(id=session_id, user_id=user.id, plan=plan.key, tenant=plan.tenant)
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
    return redirect(url, 303)


def session_params(user: User, plan: Plan, customer: str) -> dict:
    """The Checkout Session for ``user`` buying ``plan``; URLs on the request's domain."""
    metadata = {"floe_user_id": str(user.id), "floe_plan": plan.ref, "floe_tenant": plan.tenant}
    params = {
        "mode": plan.mode,
        "line_items": [{"price": plan.price, "quantity": 1}],
        "customer": customer,
        "client_reference_id": str(user.id),
        # Stripe puts the session's id in place of {CHECKOUT_SESSION_ID}.
        "success_url": on_site("pay.success") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": on_site("pay.checkout", plan=plan.key, canceled=1),
        "metadata": metadata,
    }
    # The subscription's or PaymentIntent's own metadata: their later events name the plan.
    params["subscription_data" if plan.recurring else "payment_intent_data"] = {
        "metadata": metadata
    }
    return params


def on_site(endpoint: str, **values: object) -> str:
    """An absolute URL on the request's tenant's site, for Stripe to send the buyer back to:
    from the configured site URL (https in production), never from the request's Host."""
    return absolute_url(g.tenant, endpoint, **values)


def customer_for(user: User) -> str:
    """The user's Stripe customer, created the first time (and stored, once)."""
    found = db.session.scalar(select(StripeCustomer.id).where(StripeCustomer.user_id == user.id))
    if found is not None:
        return found
    customer = gateway().create_customer(
        {
            "email": user.email,
            "metadata": {"floe_user_id": str(user.id), "floe_tenant": user.tenant},
        },
        # Two first checkouts at once get one customer; the sign-up time keeps another
        # database's user of the same id (staging, say) from sharing it.
        idempotency_key=f"floe-customer-{user.id}-{user.created_at:%Y%m%d%H%M%S%f}",
    )
    db.session.add(StripeCustomer(id=customer, user_id=user.id))
    try:
        db.session.commit()
    except IntegrityError:  # the other of two simultaneous first checkouts stored it
        db.session.rollback()
        stored = db.session.scalar(
            select(StripeCustomer.id).where(StripeCustomer.user_id == user.id)
        )
        assert stored is not None  # (what the IntegrityError says)
        return stored
    return customer


def _unavailable():
    return render(
        "core/message.html",
        "Payment unavailable",
        502,
        heading="Payment unavailable",
        message="We could not reach our payment provider. Nothing was charged: please try "
        "again in a minute.",
    )


@bp.get("/pay/success")
@login_required
def success():
    """Where Stripe sends the buyer back: the payment as the webhooks have reported it."""
    session_id = inputs.text_arg("session_id")
    checkout = db.session.get(CheckoutSession, session_id) if session_id else None
    if checkout is None or checkout.user_id != current_user.id:
        abort(404)
    payment = db.session.scalar(select(Payment).where(Payment.checkout_session_id == session_id))
    if payment is not None:
        state = payment.status
    elif checkout.status == "complete":
        state = "started"  # nothing to pay now (a trial)
    elif checkout.status == "expired":
        state = "expired"
    else:
        state = "pending"
    plan = ledger.plans().get((checkout.tenant, checkout.plan))
    body, status = render(
        "payments/success.html",
        "Payment",
        state=state,
        payment=payment,
        plan=plan,
        checkout=checkout,
    )
    response = current_app.make_response((body, status))
    if state == "pending":
        response.headers["Refresh"] = str(RELOAD_SECONDS)
    return response


@bp.get("/billing")
@login_required
def billing():
    user_id = current_user.id
    subscriptions = db.session.scalars(
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.created_at.desc())
    ).all()
    payments = ledger.payments_of(user_id)
    return render(
        "payments/billing.html",
        "Billing",
        entitlement=ledger.entitlement(user_id),
        subscriptions=subscriptions,
        payments=payments,
        held=ledger.held_disputes(p.id for p in payments),
        lifetime_value=ledger.lifetime_value(user_id),
        has_customer=_customer_of(user_id) is not None,
        plans=ledger.plans(),
        form=ActionForm(),
    )


@bp.post("/billing")
@login_required
def portal():
    """Open Stripe's Customer Portal: cancel, change card, see invoices."""
    if not ActionForm().validate_on_submit():
        abort(400)
    customer = _customer_of(current_user.id)
    if customer is None:
        flash("You have no billing account yet: it starts with your first payment.")
        return redirect(url_for("pay.billing"))
    try:
        url = gateway().create_portal_session(customer, on_site("pay.billing"))
    except PaymentServiceError as error:
        current_app.logger.error("billing portal for user %s: %s", current_user.id, error)
        return _unavailable()
    return redirect(url, 303)


def _customer_of(user_id: int) -> str | None:
    return db.session.scalar(select(StripeCustomer.id).where(StripeCustomer.user_id == user_id))


# Stripe's webhook endpoint, POST /app/pay/webhook: the view is webhooks.webhook.
bp.add_url_rule("/pay/webhook", view_func=webhooks.webhook, methods=["POST"])
