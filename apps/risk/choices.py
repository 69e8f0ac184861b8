from django.db import models


class KillSwitchScope(models.TextChoices):
    FIRM = "firm", "Whole firm"
    CLIENT = "client", "Client"
    ACCOUNT = "account", "Account"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    CLOSED = "closed", "Closed"


class AlertKind(models.TextChoices):
    HELD_ORDER = "held_order", "Order held for review"
    LIMIT_BREACH = "limit_breach", "Limit breach"
    DATA_QUALITY = "data_quality", "Market data quality"
