"""The trader's desk: one page per tradable account, with htmx partials for the ticket, the
blotters and the instrument search, and a JSON endpoint for the chart's first bars.

Views are thin: they find the account among those the user may trade (404 otherwise, so ids
cannot be probed), call the order service and render. Every refusal comes from the service and is
shown as a form error.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.clients.models import Account
from apps.clients.services import watchlist_add, watchlist_remove, watchlist_symbols
from apps.common.errors import DomainError
from apps.instruments.models import Instrument
from apps.instruments.rules import price_band
from apps.orders.choices import OrderSource
from apps.orders.models import Order
from apps.orders.selectors import executions_for_account, orders_for_account
from apps.orders.services import order_cancel, order_replace, order_submit
from apps.web.desk_forms import InstrumentSearchForm, OrderTicketForm, ReplaceOrderForm
from apps.web.selectors import (
    account_activity,
    account_balances,
    chart_bars,
    desk_account,
    desk_accounts,
    instrument_search,
    position_rows,
    watchlist_rows,
)
from apps.web.templatetags.desk import num, px

# htmx listens for this event on <body> and refreshes the blotters (see desk.js and templates).
ORDERS_CHANGED = "orders-changed"
BLOTTER_ROWS = 50
BARS_LOOKBACK = dt.timedelta(hours=24)


def websocket_base_url(request: HttpRequest) -> str:
    """Where the page opens its sockets: the configured URL, else daphne beside gunicorn in
    development (WS_PORT, PORT + 1 by default), else the page's own origin."""
    if settings.WEBSOCKET_BASE_URL:
        return settings.WEBSOCKET_BASE_URL
    scheme = "wss" if request.is_secure() else "ws"
    host = request.get_host()
    if settings.IS_DEVELOPMENT:
        hostname = host if host.endswith("]") else host.rsplit(":", 1)[0]
        return f"{scheme}://{hostname}:{settings.WEBSOCKET_DEV_PORT}"
    return f"{scheme}://{host}"


def _account_or_404(request: HttpRequest, account_id: UUID) -> Account:
    account = desk_account(user=request.user, account_id=account_id)
    if account is None:
        raise Http404("No such account")
    return account


def _instrument_context(instrument: Instrument | None) -> dict[str, Any]:
    if instrument is None:
        return {"instrument": None}
    return {"instrument": instrument, "band": price_band(instrument)}


def _ticket_response(
    request: HttpRequest,
    account: Account,
    form: OrderTicketForm,
    instrument: Instrument | None,
    *,
    placed: Order | None = None,
    status: int = 200,
) -> HttpResponse:
    balances = account_balances(account=account)
    response = render(
        request,
        "web/partials/desk_ticket.html",
        {
            "account": account,
            "form": form,
            "placed": placed,
            "balances": balances,
            **_instrument_context(instrument),
        },
        status=status,
    )
    return response


def _blank_ticket(instrument: Instrument | None, *, keep: dict[str, Any] | None = None):
    initial = {"side": "buy", "type": "limit", "time_in_force": "day"}
    if instrument is not None:
        initial["symbol"] = instrument.symbol
        if instrument.venue.is_24x7:
            initial["time_in_force"] = "gtc"
    initial.update(keep or {})
    return OrderTicketForm(initial=initial)


@login_required
def desk(request: HttpRequest, account_id: UUID | None = None) -> HttpResponse:
    """The desk of one account; ``/desk/`` opens the first account the user may trade."""
    accounts = list(desk_accounts(user=request.user))
    if account_id is None:
        if not accounts:
            return render(request, "web/desk_no_account.html", status=200)
        return redirect("desk-account", account_id=accounts[0].pk)
    account = next((a for a in accounts if a.pk == account_id), None)
    if account is None:
        raise Http404("No such account")

    watch = watchlist_rows(symbols=watchlist_symbols(user=request.user))
    wanted = (request.GET.get("symbol") or "").upper()
    instrument = next((row.instrument for row in watch if row.instrument.symbol == wanted), None)
    if instrument is None and wanted:
        instrument = Instrument.objects.filter(symbol=wanted).select_related("venue").first()
    if instrument is None and watch:
        instrument = watch[0].instrument
    balances = account_balances(account=account)
    return render(
        request,
        "web/desk.html",
        {
            "account": account,
            "accounts": accounts,
            "watch": watch,
            "symbol": instrument.symbol if instrument else "",
            "watch_symbols": [row.instrument.symbol for row in watch],
            "ws_base": websocket_base_url(request),
            "form": _blank_ticket(instrument),
            "search_form": InstrumentSearchForm(),
            "balances": balances,
            "positions": position_rows(account=account),
            "orders": orders_for_account(account=account, status="open", limit=BLOTTER_ROWS),
            "executions": executions_for_account(account=account, limit=BLOTTER_ROWS),
            "activity": account_activity(account=account),
            **_instrument_context(instrument),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def desk_ticket(request: HttpRequest, account_id: UUID) -> HttpResponse:
    """GET: a blank ticket for ``?symbol=``. POST: submit through ``order_submit``; refusals come
    back as form errors (422), an accepted order as a fresh ticket with a confirmation."""
    account = _account_or_404(request, account_id)
    if request.method == "GET":
        symbol = (request.GET.get("symbol") or "").upper()
        instrument = Instrument.objects.filter(symbol=symbol).select_related("venue").first()
        return _ticket_response(request, account, _blank_ticket(instrument), instrument)

    form = OrderTicketForm(request.POST)
    if not form.is_valid():
        instrument = Instrument.objects.filter(
            symbol=(request.POST.get("symbol") or "").strip().upper()
        ).first()
        return _ticket_response(request, account, form, instrument, status=422)
    instrument = form.cleaned_data["symbol"]
    try:
        order = order_submit(
            account=account,
            source=OrderSource.WEB,
            actor=request.user,
            **form.service_arguments(),
        )
    except DomainError as error:
        form.add_domain_error(error)
        response = _ticket_response(request, account, form, instrument, status=422)
        if getattr(error, "order", None) is not None:
            response["HX-Trigger"] = ORDERS_CHANGED  # the rejection is recorded in the blotter
        return response
    # The next ticket keeps the terms (traders often repeat an order), with a new order id.
    kept_fields = ("side", "type", "time_in_force", "qty", "limit_price", "stop_price")
    keep = {k: form.cleaned_data[k] for k in kept_fields if form.cleaned_data[k] is not None}
    response = _ticket_response(
        request, account, _blank_ticket(instrument, keep=keep), instrument, placed=order
    )
    response["HX-Trigger"] = ORDERS_CHANGED
    return response


def _order_or_404(account: Account, order_id: UUID) -> Order:
    return get_object_or_404(
        Order.objects.select_related("instrument"), account=account, pk=order_id
    )


def _orders_partial(
    request: HttpRequest, account: Account, *, error: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/partials/desk_orders.html",
        {
            "account": account,
            "orders": orders_for_account(account=account, status="open", limit=BLOTTER_ROWS),
            "error": error,
        },
        status=status,
    )


@login_required
@require_GET
def desk_orders(request: HttpRequest, account_id: UUID) -> HttpResponse:
    return _orders_partial(request, _account_or_404(request, account_id))


@login_required
@require_POST
def desk_order_cancel(request: HttpRequest, account_id: UUID, order_id: UUID) -> HttpResponse:
    account = _account_or_404(request, account_id)
    order = _order_or_404(account, order_id)
    try:
        order_cancel(order=order, source=OrderSource.WEB, actor=request.user)
    except DomainError as error:
        return _orders_partial(request, account, error=error.message, status=409)
    response = _orders_partial(request, account)
    response["HX-Trigger"] = ORDERS_CHANGED
    return response


@login_required
@require_http_methods(["GET", "POST"])
def desk_order_replace(request: HttpRequest, account_id: UUID, order_id: UUID) -> HttpResponse:
    """The replace panel of one order (GET), or the replace itself through ``order_replace``."""
    account = _account_or_404(request, account_id)
    order = _order_or_404(account, order_id)
    if request.method == "GET":
        form = ReplaceOrderForm(
            initial={
                "qty": num(order.quantity),
                "limit_price": px(order.limit_price),
                "stop_price": px(order.stop_price),
            }
        )
        return render(request, "web/partials/desk_replace.html", {"order": order, "form": form})
    form = ReplaceOrderForm(request.POST)
    if form.is_valid():
        try:
            order_replace(
                order=order,
                quantity=form.cleaned_data["qty"],
                limit_price=form.cleaned_data["limit_price"],
                stop_price=form.cleaned_data["stop_price"],
                source=OrderSource.WEB,
                actor=request.user,
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            response = render(
                request, "web/partials/desk_replace.html", {"order": None, "replaced": order}
            )
            response["HX-Trigger"] = ORDERS_CHANGED
            return response
    return render(
        request, "web/partials/desk_replace.html", {"order": order, "form": form}, status=422
    )


@login_required
@require_GET
def desk_executions(request: HttpRequest, account_id: UUID) -> HttpResponse:
    account = _account_or_404(request, account_id)
    return render(
        request,
        "web/partials/desk_executions.html",
        {"executions": executions_for_account(account=account, limit=BLOTTER_ROWS)},
    )


@login_required
@require_GET
def desk_positions(request: HttpRequest, account_id: UUID) -> HttpResponse:
    account = _account_or_404(request, account_id)
    return render(
        request,
        "web/partials/desk_positions.html",
        {
            "account": account,
            "positions": position_rows(account=account),
            "balances": account_balances(account=account),
        },
    )


@login_required
@require_GET
def desk_activity(request: HttpRequest, account_id: UUID) -> HttpResponse:
    account = _account_or_404(request, account_id)
    return render(
        request, "web/partials/desk_activity.html", {"activity": account_activity(account=account)}
    )


@login_required
@require_GET
def desk_search(request: HttpRequest, account_id: UUID) -> HttpResponse:
    account = _account_or_404(request, account_id)
    form = InstrumentSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "web/partials/desk_search.html",
        {"account": account, "results": instrument_search(query=query), "query": query},
    )


@login_required
@require_POST
def desk_watchlist(request: HttpRequest, account_id: UUID) -> HttpResponse:
    """Add (``add=SYMBOL``) or remove (``remove=SYMBOL``) a name of the user's watchlist.
    Answers with the watchlist rows."""
    account = _account_or_404(request, account_id)
    symbols = watchlist_symbols(user=request.user)
    if add := (request.POST.get("add") or "").strip().upper():
        symbols = watchlist_add(user=request.user, symbol=add)
    if remove := (request.POST.get("remove") or "").strip().upper():
        symbols = watchlist_remove(user=request.user, symbol=remove)
    watch = watchlist_rows(symbols=symbols)
    response = render(
        request,
        "web/partials/desk_watchlist.html",
        {"account": account, "watch": watch, "symbol": request.POST.get("current", "")},
    )
    response["HX-Trigger"] = json.dumps(
        {"watchlist-changed": {"symbols": [row.instrument.symbol for row in watch]}}
    )
    return response


@login_required
@require_GET
def desk_bars(request: HttpRequest, symbol: str) -> JsonResponse:
    """The chart's first one-minute bars: ``{"symbol", "bars": [{"t","o","h","l","c","v"}]}``
    with ``t`` in epoch seconds and the prices as strings."""
    instrument = get_object_or_404(Instrument, symbol=symbol.upper())
    bars = chart_bars(instrument=instrument, since=timezone.now() - BARS_LOOKBACK)
    return JsonResponse(
        {
            "symbol": instrument.symbol,
            "bars": [
                {"t": b.t, "o": px(b.o), "h": px(b.h), "l": px(b.l), "c": px(b.c), "v": num(b.v)}
                for b in bars
            ],
        }
    )
