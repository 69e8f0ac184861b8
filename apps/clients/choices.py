from django.db import models


class ClientType(models.TextChoices):
    RETAIL = "retail", "Retail"
    INSTITUTIONAL = "institutional", "Institutional"
    MARKET_MAKER = "market_maker", "Market maker"


class KycStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REVIEW = "review", "Under review"
    REJECTED = "rejected", "Rejected"


class ComplianceStatus(models.TextChoices):
    CLEAR = "clear", "Clear"
    WATCH = "watch", "On watch list"
    RESTRICTED = "restricted", "Restricted (closing only)"
    FROZEN = "frozen", "Frozen"


class AccountType(models.TextChoices):
    CASH = "cash", "Cash"
    MARGIN = "margin", "Margin"


class AccountStatus(models.TextChoices):
    # Names follow Alpaca's account statuses, which partners already map.
    SUBMITTED = "SUBMITTED", "Submitted"
    APPROVED = "APPROVED", "Approved"
    ACTIVE = "ACTIVE", "Active"
    ACCOUNT_UPDATED = "ACCOUNT_UPDATED", "Updated"
    REJECTED = "REJECTED", "Rejected"
    DISABLED = "DISABLED", "Disabled"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED", "Closed"


class AssetClass(models.TextChoices):
    EQUITY = "equity", "Equity"
    ETF = "etf", "ETF"
    BOND = "bond", "Bond"
    OPTION = "option", "Option"
    FUTURE = "future", "Future"
    CRYPTO = "crypto", "Crypto"


class OptionLevel(models.IntegerChoices):
    NONE = 0, "No options"
    COVERED = 1, "Covered calls and cash-secured puts"
    LONG = 2, "Long calls and puts"
    SPREADS = 3, "Spreads"
    NAKED = 4, "Uncovered writing"


class Role(models.TextChoices):
    """Staff and client roles; each is a Django group of the same name."""

    TRADER = "trader", "Trader"
    PARTNER = "partner", "Partner (API only)"
    MARKET_MAKER = "market_maker", "Market maker"
    RISK_MANAGER = "risk_manager", "Risk manager"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    OPERATIONS = "operations", "Operations"
    ADMIN = "admin", "Administrator"


STAFF_ROLES = frozenset({Role.RISK_MANAGER, Role.COMPLIANCE_OFFICER, Role.OPERATIONS, Role.ADMIN})
