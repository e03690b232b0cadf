"""XBS error codes (ErrorDetailCode) with the ReasonCode and Description they travel with.

Figures from docs/reference.md §5.2. A code not listed keeps its family: ``13xxxx`` is a DECLINE,
``15xxxx`` a SYSTEM_ERROR, ``0n2000`` an input problem.
"""

from __future__ import annotations

from xborder.domain.errors import Rejection

KNOWN_CODES: dict[str, tuple[str, str]] = {
    "092000": ("MISSING_REQUIRED_INPUT", "Missing Required Input"),
    "082000": ("INVALID_INPUT_VALUE", "Invalid Input Value"),
    "072000": ("INVALID_INPUT_LENGTH", "Invalid length"),
    "062000": ("INVALID_INPUT_FORMAT", "Value contains invalid character"),
    "150001": ("SYSTEM_ERROR", "A system error has occurred"),
    "110507": ("RESOURCE_UNKNOWN", "Record Not Found"),
    "050007": ("AUTHORIZATION_FAILED", "Unauthorized Access"),
    "130101": ("DECLINE", "Invalid recipient currency"),
    "130111": ("DECLINE", "Cancellation not permitted on this transaction"),
    "130113": ("DECLINE", "No routing option for beneficiary URI provided"),
    "130118": ("DECLINE", "Sending amount is greater than the maximum allowed per transaction"),
    "130120": ("DECLINE", "Maximum cumulative transactions exceeded by sending consumer"),
    "130134": ("DECLINE", "The recipient cannot receive funds due to inactive account"),
    "130190": ("DECLINE", "Invalid Recipient bank account number"),
    "130194": ("DECLINE", "duplicate quote confirmation"),
    "130195": ("DECLINE", "Confirmation requested for Expired Quote"),
    "130196": ("DECLINE", "insufficient prefunding balance"),
    "130197": ("DECLINE", "cancellation already requested"),
    "130192": ("PROVIDER_NOT_ENABLED_PRE_FUND", "Provider Not Enabled Pre Fund"),
    "130193": ("SETTLEMENT_ACCOUNT_NOT_FOUND", "Settlement account not found"),
}

_FAMILIES = {
    "13": ("DECLINE", "Transaction declined"),
    "15": ("SYSTEM_ERROR", "A system error has occurred"),
    "11": ("RESOURCE_UNKNOWN", "Record Not Found"),
}


def rejection_for(code: str, source: str = "") -> Rejection:
    """The :class:`Rejection` an ErrorDetailCode stands for, with an optional Source."""
    reason, description = (
        KNOWN_CODES.get(code)
        or _FAMILIES.get(code[:2])
        or (
            "DECLINE",
            "Transaction declined",
        )
    )
    return Rejection(detail_code=code, reason_code=reason, description=description, source=source)
