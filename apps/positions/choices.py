from django.db import models


class LedgerAccountKind(models.TextChoices):
    """Where value sits. Client kinds belong to one brokerage account; the others are the firm's
    own books or the outside world (bank rail, clearing house), which let every journal balance."""

    CLIENT_CASH = "client_cash", "Client cash (settled)"
    CLIENT_CASH_UNSETTLED = "client_cash_unsettled", "Client cash (unsettled)"
    CLIENT_SECURITIES = "client_securities", "Client securities"
    FIRM_COMMISSIONS = "firm_commissions", "Firm commission revenue"
    REGULATORY_FEES_PAYABLE = "regulatory_fees_payable", "Regulatory fees payable (SEC, FINRA)"
    CLEARING = "clearing", "Clearing house"
    BANK = "bank", "Bank rail (external)"


class JournalKind(models.TextChoices):
    TRADE = "trade", "Trade"
    FEE = "fee", "Fee"
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    JOURNAL = "journal", "Cash journal between accounts"
    SETTLEMENT = "settlement", "Settlement"
    OPENING_BALANCE = "opening_balance", "Opening balance"
    CORRECTION = "correction", "Correction"
