"""The console's action forms (POST): the same use cases as the admin API (D17) and the
Cancel Payment use case, each answered by a redirect with a notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from xborder.api.admin_requests import is_count
from xborder.api.console.web import ROOT, Console
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services import accounts, operator, scheduler, timeline, webhooks
from xborder.services import payments as usecases

MAX_CLOCK_STEP = 366 * 86_400


def _uses(console: Console) -> dict[str, Any]:
    return {"clock": console.admin.clock, "rules": console.admin.rules}


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise ValidationFailed([FieldProblem(ProblemKind.MISSING, name)])
    return value


_PLAIN: dict[str, Callable[..., Any]] = {
    "cancel": usecases.cancel_payment,
    "advance": operator.advance_payment,
    "settle": operator.settle_payment,
}
_CODED: dict[str, Callable[..., Any]] = {
    "reject": operator.reject_payment,
    "return": operator.return_payment,
}


def payment_action(console: Console, request: Request, form: dict[str, str]) -> str:
    """Cancel, advance, settle, reject or return (with a code) one payment."""
    partner_id, key = request.path_params["partner_id"], request.path_params["payment_id"]
    verb = request.path_params["verb"]
    if verb in _PLAIN:
        console.admin.written(_PLAIN[verb], partner_id, key, **_uses(console))
    elif verb in _CODED:
        code = _required(form, "code")
        console.admin.written(_CODED[verb], partner_id, key, code, **_uses(console))
    else:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "action")])
    return f"{verb}: done"


def payment_back(request: Request, _form: dict[str, str]) -> str:
    p = request.path_params
    return f"{ROOT}/payments/{p['partner_id']}/{p['payment_id']}"


def fund(console: Console, _request: Request, form: dict[str, str]) -> str:
    """Fund a partner's settlement account; queued payments are released in order."""
    partner_id, currency = _required(form, "partner"), _required(form, "currency").upper()
    amount = _required(form, "amount")
    _sheet, released = console.admin.written(
        accounts.fund_account, partner_id, currency, amount, **_uses(console)
    )
    return f"funded {partner_id} {currency} {amount}; released {len(released)} payment(s)"


def advance_clock(console: Console, _request: Request, form: dict[str, str]) -> str:
    """Move the controllable clock forward, then run the steps that became due (D17)."""
    try:
        seconds = Decimal(_required(form, "seconds"))
    except InvalidOperation as exc:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "seconds")]) from exc
    if not 0 < seconds <= MAX_CLOCK_STEP:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "seconds")])
    admin = console.admin
    delta = timedelta(seconds=float(seconds))
    admin.written(timeline.advance_clock, delta, controllable=admin.clock_controllable)
    now = admin.clock.now()  # after the commit
    steps = scheduler.run_due_steps(
        uow_factory=admin.uow_factory, write=admin.write, **_uses(console)
    )
    return f"clock now {now.isoformat(timespec='seconds')}; {steps} step(s) ran"


def set_webhook(console: Console, _request: Request, form: dict[str, str]) -> str:
    """Register a partner id's webhook (D18: bound or not)."""
    partner_id, url = _required(form, "partner"), _required(form, "url")
    secret = form.get("secret") or None
    console.admin.written(webhooks.set_webhook, partner_id, url, secret)
    return f"webhook of {partner_id}: {url}" + (" (signed)" if secret else "")


def redeliver(console: Console, request: Request, _form: dict[str, str]) -> str:
    """Send a finished status-change event again."""
    raw = request.path_params["event_id"]
    if not is_count(raw):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "event_id")])
    console.admin.written(webhooks.redeliver, int(raw))
    return f"event {raw} queued again"


def back_to(path: str) -> Callable[[Request, dict[str, str]], str]:
    return lambda _request, _form: f"{ROOT}{path}"
