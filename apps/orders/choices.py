from django.db import models


class Side(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"
    STOP = "stop", "Stop"
    STOP_LIMIT = "stop_limit", "Stop limit"


class TimeInForce(models.TextChoices):
    DAY = "day", "Day"
    GTC = "gtc", "Good till canceled"
    GTD = "gtd", "Good till date"
    IOC = "ioc", "Immediate or cancel"
    FOK = "fok", "Fill or kill"
    OPG = "opg", "At the open (opening auction)"
    CLS = "cls", "At the close (closing auction)"


class OrderStatus(models.TextChoices):
    """Alpaca's status names, which partners already know."""

    PENDING_NEW = "pending_new", "Pending new"
    NEW = "new", "New"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"
    REPLACED = "replaced", "Replaced"
    PENDING_CANCEL = "pending_cancel", "Pending cancel"
    PENDING_REPLACE = "pending_replace", "Pending replace"
    REJECTED = "rejected", "Rejected"
    HELD = "held", "Held for risk review"
    DONE_FOR_DAY = "done_for_day", "Done for day"
    SUSPENDED = "suspended", "Suspended"


class OrderSource(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    FIX = "fix", "FIX"
    SYSTEM = "system", "System"


class SelfTradePrevention(models.TextChoices):
    CANCEL_NEWEST = "cancel_newest", "Cancel newest"
    CANCEL_OLDEST = "cancel_oldest", "Cancel oldest"
    CANCEL_BOTH = "cancel_both", "Cancel both"
    DECREMENT = "decrement", "Decrement and cancel"


class Liquidity(models.TextChoices):
    MAKER = "maker", "Added liquidity"
    TAKER = "taker", "Removed liquidity"
    AUCTION = "auction", "Auction"


S = OrderStatus
OPEN_STATUSES = frozenset(
    {
        S.PENDING_NEW,
        S.NEW,
        S.PARTIALLY_FILLED,
        S.PENDING_CANCEL,
        S.PENDING_REPLACE,
        S.HELD,
        S.SUSPENDED,
    }
)
FINAL_STATUSES = frozenset(
    {S.FILLED, S.CANCELED, S.EXPIRED, S.REPLACED, S.REJECTED, S.DONE_FOR_DAY}
)

# The order state machine. Anything not listed is refused with an error, never written.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    S.HELD: frozenset({S.PENDING_NEW, S.REJECTED, S.CANCELED}),
    S.PENDING_NEW: frozenset(
        {S.NEW, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.PENDING_CANCEL}
    ),
    S.NEW: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELED,
            S.EXPIRED,
            S.PENDING_CANCEL,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.DONE_FOR_DAY,
            S.SUSPENDED,
        }
    ),
    S.PARTIALLY_FILLED: frozenset(
        {
            S.PARTIALLY_FILLED,
            S.FILLED,
            S.CANCELED,
            S.EXPIRED,
            S.PENDING_CANCEL,
            S.PENDING_REPLACE,
            S.REPLACED,
            S.DONE_FOR_DAY,
            S.SUSPENDED,
        }
    ),
    S.PENDING_CANCEL: frozenset({S.CANCELED, S.PARTIALLY_FILLED, S.FILLED, S.NEW, S.EXPIRED}),
    S.PENDING_REPLACE: frozenset(
        {S.REPLACED, S.PARTIALLY_FILLED, S.FILLED, S.NEW, S.CANCELED, S.EXPIRED}
    ),
    S.SUSPENDED: frozenset({S.NEW, S.PARTIALLY_FILLED, S.CANCELED, S.EXPIRED}),
    S.DONE_FOR_DAY: frozenset({S.NEW, S.PARTIALLY_FILLED, S.CANCELED, S.EXPIRED}),
}
