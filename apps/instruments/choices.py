from django.db import models

from apps.clients.choices import AssetClass

__all__ = [
    "AssetClass",
    "DayCount",
    "ExerciseStyle",
    "MatchingAlgorithm",
    "OptionType",
    "SessionPhase",
]


class MatchingAlgorithm(models.TextChoices):
    PRICE_TIME = "fifo", "Price-time (FIFO)"
    PRO_RATA = "pro_rata", "Pro-rata with time-priority remainder"


class OptionType(models.TextChoices):
    CALL = "call", "Call"
    PUT = "put", "Put"


class ExerciseStyle(models.TextChoices):
    AMERICAN = "american", "American"
    EUROPEAN = "european", "European"


class DayCount(models.TextChoices):
    THIRTY_360 = "30/360", "30/360"
    ACT_360 = "ACT/360", "Actual/360"
    ACT_365 = "ACT/365", "Actual/365"
    ACT_ACT = "ACT/ACT", "Actual/Actual"


class SessionPhase(models.TextChoices):
    """The trading phases the matcher knows; the scheduler sends them as commands."""

    PRE_OPEN = "pre_open", "Pre-open"
    OPENING_AUCTION = "opening_auction", "Opening auction"
    CONTINUOUS = "continuous", "Continuous"
    PRE_CLOSE = "pre_close", "Pre-close"
    CLOSING_AUCTION = "closing_auction", "Closing auction"
    CLOSED = "closed", "Closed"
    HALTED = "halted", "Halted"
