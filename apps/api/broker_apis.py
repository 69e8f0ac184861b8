"""Operations only the broker API has: opening and managing a partner's accounts, bank links,
transfers, cash journals, positions across accounts. Partner keys only (``BrokerScope``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import selectors, services
from apps.api.apis import ERRORS
from apps.api.base import BrokerScope
from apps.api.serializers import (
    AccountCreateInputSerializer,
    AccountListInputSerializer,
    AccountUpdateInputSerializer,
    AchRelationshipInputSerializer,
    AchRelationshipOutputSerializer,
    AssetClassInputSerializer,
    BrokerAccountOutputSerializer,
    JournalInputSerializer,
    JournalListInputSerializer,
    PositionOutputSerializer,
    TransferInputSerializer,
    TransferListInputSerializer,
    TransferOutputSerializer,
    journal_representation,
)


class AccountCreateApi(BrokerScope):
    @extend_schema(
        operation_id="broker_account_create",
        request=AccountCreateInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Open a client and its account from the partner's KYC data",
    )
    def post(self, request: Request) -> Response:
        data = self.body(AccountCreateInputSerializer)
        application = services.AccountApplication(
            contact=_present(data["contact"]),
            identity=_present(data["identity"]),
            disclosures=_present(data["disclosures"]),
            agreements=[_present(a) for a in data["agreements"]],
            trusted_contact=data.get("trusted_contact"),
            enabled_assets=data.get("enabled_assets"),
            currency=data["currency"],
        )
        account = services.partner_account_open(
            partner=self.api_key.partner, application=application, actor_label=self.actor_label
        )
        return Response(BrokerAccountOutputSerializer(_reload(account)).data)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """The fields the partner sent, without the ones it left null."""
    return {k: v for k, v in values.items() if v is not None}


def _reload(account: Any) -> Any:
    return type(account).objects.select_related("client", "partner_profile").get(pk=account.pk)


class AccountListApi(BrokerScope):
    @extend_schema(
        operation_id="broker_account_list",
        parameters=[AccountListInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = self.query(AccountListInputSerializer)
        accounts = self.partner_accounts().select_related("client", "partner_profile")
        if query.get("query"):
            term = query["query"]
            accounts = accounts.filter(
                Q(number__icontains=term)
                | Q(client__legal_name__icontains=term)
                | Q(client__email__icontains=term)
            )
        if query.get("created_after"):
            accounts = accounts.filter(created_at__gt=query["created_after"])
        if query.get("created_before"):
            accounts = accounts.filter(created_at__lt=query["created_before"])
        if query.get("status"):
            accounts = accounts.filter(status__in=query["status"].split(","))
        accounts = accounts.order_by("created_at" if query["sort"] == "asc" else "-created_at")
        entities = set(query["entities"].split(",")) if query.get("entities") else set()
        return Response(
            [BrokerAccountOutputSerializer(a, entities=entities).data for a in accounts]
        )


class AccountGetApi(BrokerScope):
    @extend_schema(
        operation_id="broker_account_get", responses={200: OpenApiTypes.OBJECT, **ERRORS}
    )
    def get(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        return Response(BrokerAccountOutputSerializer(_reload(account)).data)


class AccountUpdateApi(BrokerScope):
    @extend_schema(
        operation_id="broker_account_update",
        request=AccountUpdateInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def patch(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        data = self.body(AccountUpdateInputSerializer)
        account = services.partner_account_update(
            account=account,
            contact=data.get("contact"),
            identity=data.get("identity"),
            disclosures=data.get("disclosures"),
            trusted_contact=data.get("trusted_contact"),
            actor_label=self.actor_label,
        )
        return Response(BrokerAccountOutputSerializer(_reload(account)).data)


class AccountCloseApi(BrokerScope):
    @extend_schema(
        operation_id="broker_account_close",
        responses={204: None, **ERRORS},
        summary="Close an account that holds no cash, position, open order or transfer",
    )
    def delete(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        services.partner_account_close(account=account, actor_label=self.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountCloseActionApi(BrokerScope):
    """The same close, as ``POST /v1/accounts/{id}/actions/close`` (what the SDK sends)."""

    @extend_schema(
        operation_id="broker_account_close_action", request=None, responses={204: None, **ERRORS}
    )
    def post(self, request: Request, account_id: uuid.UUID) -> Response:
        return AccountCloseApi.delete(self, request, account_id)


class AllAccountsPositionsApi(BrokerScope):
    @extend_schema(
        operation_id="broker_positions_all_accounts",
        parameters=[AssetClassInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        accounts = list(self.partner_accounts())
        asset_class = self.query(AssetClassInputSerializer).get("asset_class")
        positions: dict[str, list] = {str(a.pk): [] for a in accounts}
        for figures in selectors.positions_open(accounts=accounts, asset_class=asset_class):
            positions[str(figures.position.account_id)].append(
                PositionOutputSerializer(figures).data
            )
        return Response({"as_of": timezone.now().isoformat(), "positions": positions})


# ------------------------------------------------------------------------------------------
# Funding


class AchRelationshipCreateApi(BrokerScope):
    @extend_schema(
        operation_id="broker_ach_relationship_create",
        request=AchRelationshipInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def post(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        data = self.body(AchRelationshipInputSerializer)
        relationship = services.ach_relationship_create(
            account=account, actor_label=self.actor_label, **data
        )
        return Response(AchRelationshipOutputSerializer(relationship).data)


class AchRelationshipListApi(BrokerScope):
    @extend_schema(
        operation_id="broker_ach_relationship_list",
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        statuses = request.query_params.get("statuses")
        relationships = selectors.ach_relationships_for(
            account=account, statuses=statuses.split(",") if statuses else None
        )
        return Response([AchRelationshipOutputSerializer(r).data for r in relationships])


class AchRelationshipDeleteApi(BrokerScope):
    @extend_schema(operation_id="broker_ach_relationship_delete", responses={204: None, **ERRORS})
    def delete(
        self, request: Request, account_id: uuid.UUID, relationship_id: uuid.UUID
    ) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        relationship = selectors.ach_relationship_get(
            account=account, relationship_id=relationship_id
        )
        services.ach_relationship_cancel(relationship=relationship, actor_label=self.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TransferCreateApi(BrokerScope):
    @extend_schema(
        operation_id="broker_transfer_create",
        request=TransferInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="Queue an ACH deposit or withdrawal; the bank rail settles it in the background",
    )
    def post(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        data = self.body(TransferInputSerializer)
        relationship = selectors.ach_relationship_get(
            account=account, relationship_id=data["relationship_id"]
        )
        transfer = services.transfer_request(
            account=account,
            relationship=relationship,
            direction=data["direction"],
            amount=data["amount"],
            actor_label=self.actor_label,
        )
        return Response(TransferOutputSerializer(transfer).data)


class TransferListApi(BrokerScope):
    @extend_schema(
        operation_id="broker_transfer_list",
        parameters=[TransferListInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, account_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        query = self.query(TransferListInputSerializer)
        page = selectors.transfers_for(
            account=account,
            direction=query.get("direction"),
            offset=query["offset"],
            limit=query["limit"],
        )
        return Response([TransferOutputSerializer(t).data for t in page])


class TransferCancelApi(BrokerScope):
    @extend_schema(operation_id="broker_transfer_cancel", responses={204: None, **ERRORS})
    def delete(self, request: Request, account_id: uuid.UUID, transfer_id: uuid.UUID) -> Response:
        account = self.scoped_account(request, account_id=account_id)
        transfer = selectors.transfer_get(account=account, transfer_id=transfer_id)
        services.transfer_cancel(transfer=transfer, actor_label=self.actor_label)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JournalCreateApi(BrokerScope):
    @extend_schema(
        operation_id="broker_journal_create",
        request=JournalInputSerializer,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="JNLC: move cash between two of the partner's accounts, executed at once",
    )
    def post(self, request: Request) -> Response:
        data = self.body(JournalInputSerializer)
        from_account = self.scoped_account(request, account_id=data["from_account"])
        to_account = self.scoped_account(request, account_id=data["to_account"])
        journal = services.partner_cash_journal(
            partner=self.api_key.partner,
            from_account=from_account,
            to_account=to_account,
            amount=data["amount"],
            description=data.get("description", ""),
            actor_label=self.actor_label,
        )
        return Response(
            journal_representation(
                selectors.CashJournal(
                    journal_id=journal.pk,
                    from_account_id=from_account.pk,
                    to_account_id=to_account.pk,
                    amount=data["amount"],
                    currency=data["currency"],
                    description=journal.description,
                    created_at=journal.created_at,
                )
            )
        )


class JournalListApi(BrokerScope):
    @extend_schema(
        operation_id="broker_journal_list",
        parameters=[JournalListInputSerializer],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
        summary="The cash journals between the partner's accounts, newest first",
    )
    def get(self, request: Request) -> Response:
        query = self.query(JournalListInputSerializer)
        # Ours are cash journals (JNLC), executed at once: other kinds or states are none.
        if query.get("entry_type", "JNLC") != "JNLC" or query.get("status", "executed") != (
            "executed"
        ):
            return Response([])
        journals = selectors.cash_journals_for(
            partner=self.api_key.partner,
            after=query.get("after"),
            before=query.get("before"),
            from_account=query.get("from_account"),
            to_account=query.get("to_account"),
        )
        return Response([journal_representation(j) for j in journals])


class JournalGetApi(BrokerScope):
    @extend_schema(
        operation_id="broker_journal_get", responses={200: OpenApiTypes.OBJECT, **ERRORS}
    )
    def get(self, request: Request, journal_id: uuid.UUID) -> Response:
        journal = selectors.cash_journal_get(partner=self.api_key.partner, journal_id=journal_id)
        return Response(journal_representation(journal))

    @extend_schema(
        operation_id="broker_journal_cancel",
        responses={204: None, **ERRORS},
        summary="Cancel a journal while it is pending or queued (ours execute at once: 422)",
    )
    def delete(self, request: Request, journal_id: uuid.UUID) -> Response:
        journal = selectors.cash_journal_get(partner=self.api_key.partner, journal_id=journal_id)
        services.journal_cancel(journal=journal)
        return Response(status=status.HTTP_204_NO_CONTENT)
