from django.db import models


class AchRelationshipStatus(models.TextChoices):
    # Alpaca's names (alpaca.broker.enums.ACHRelationshipStatus), which partners already map.
    QUEUED = "QUEUED", "Queued"
    APPROVED = "APPROVED", "Approved"
    PENDING = "PENDING", "Pending"
    CANCELED = "CANCELED", "Canceled"


class BankAccountType(models.TextChoices):
    CHECKING = "CHECKING", "Checking"
    SAVINGS = "SAVINGS", "Savings"


class TransferDirection(models.TextChoices):
    INCOMING = "INCOMING", "Incoming (deposit)"
    OUTGOING = "OUTGOING", "Outgoing (withdrawal)"


class TransferStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    SENT_TO_CLEARING = "SENT_TO_CLEARING", "Sent to the bank rail"
    COMPLETE = "COMPLETE", "Complete"
    REJECTED = "REJECTED", "Rejected"
    RETURNED = "RETURNED", "Returned by the bank"
    CANCELED = "CANCELED", "Canceled"


TRANSFER_FINAL_STATUSES = frozenset(
    {
        TransferStatus.COMPLETE,
        TransferStatus.REJECTED,
        TransferStatus.RETURNED,
        TransferStatus.CANCELED,
    }
)
