"""Remittance code lists in our own words: adjustment reasons, remarks, groups, claim statuses.

Billing staff read findings like `CO-29: timely filing limit expired`, not bare codes. X12 asserts
copyright over the official code descriptions, so every description here is a short paraphrase
written for this project. Retired codes (A2, A7, 42, …) still appear in real files and are kept,
marked "(retired)": a finding must explain them rather than fail on them.
"""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "CO": "contractual obligation",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
    "CR": "correction or reversal",
}

CLAIM_STATUS: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to another payer",
    "20": "processed as secondary, forwarded to another payer",
    "21": "processed as tertiary, forwarded to another payer",
    "22": "reversal of an earlier payment",
    "23": "not our claim, forwarded to another payer",
    "25": "predetermination only, not paid",
}

CARC: dict[str, str] = {
    "1": "deductible",
    "2": "coinsurance",
    "3": "copay",
    "4": "procedure code does not fit the modifier used, or a modifier is missing",
    "5": "procedure code or bill type does not fit the place of service",
    "6": "procedure or revenue code does not fit the patient's age",
    "7": "procedure or revenue code does not fit the patient's sex",
    "8": "procedure code does not fit the provider type or specialty",
    "9": "diagnosis does not fit the patient's age",
    "10": "diagnosis does not fit the patient's sex",
    "11": "diagnosis does not support the procedure",
    "13": "date of death is before the service date",
    "15": "authorization number missing or invalid",
    "16": "claim lacks information or has a billing error",
    "18": "exact duplicate of a claim or service already processed",
    "19": "work-related injury: the workers' compensation carrier should pay",
    "20": "injury covered by liability insurance",
    "21": "injury covered by no-fault insurance",
    "22": "another payer may be primary (coordination of benefits)",
    "23": "reduced by what a prior payer paid or allowed",
    "24": "covered under a capitation or managed-care agreement",
    "26": "service before coverage started",
    "27": "service after coverage ended",
    "29": "timely filing limit expired",
    "31": "patient is not identified as our member",
    "32": "our records show the patient is not an eligible dependent",
    "33": "no dependent coverage for this service",
    "34": "no newborn coverage",
    "35": "lifetime benefit maximum reached",
    "39": "authorization was denied",
    "40": "emergency care criteria not met",
    "42": "charges above the maximum allowed fee (retired)",
    "45": "charge above the fee schedule or contracted amount",
    "49": "routine or preventive service not covered",
    "50": "not medically necessary in the payer's judgement",
    "51": "pre-existing condition not covered",
    "53": "services by an immediate relative or household member are not covered",
    "54": "multiple surgeons or assistant surgeon not covered",
    "55": "procedure or treatment considered experimental by the payer",
    "56": "procedure or treatment not proven effective by the payer",
    "58": "place of service not appropriate for the treatment",
    "59": "reduced under multiple or concurrent procedure rules",
    "60": "outpatient services too close to an inpatient stay",
    "61": "reduced: a second surgical opinion was not obtained",
    "66": "blood deductible",
    "89": "professional fees taken out of the payment",
    "90": "ingredient cost adjustment",
    "94": "processed above the amount charged",
    "95": "plan procedures were not followed",
    "96": "service not covered",
    "97": "included in the payment for another service already adjudicated",
    "100": "payment made to the patient or insured",
    "101": "predetermined payment amount",
    "104": "managed care withholding",
    "105": "tax withholding",
    "107": "the related or qualifying claim was not received",
    "109": "not covered by this payer: send the claim to the right payer",
    "110": "billing date is before the service date",
    "111": "not covered unless the provider accepts assignment",
    "114": "procedure or product not approved by the FDA",
    "119": "benefit maximum for this period or occurrence reached",
    "121": "indemnification adjustment",
    "128": "newborn services are covered in the mother's allowance",
    "129": "earlier processing of this claim was wrong",
    "131": "claim-specific negotiated discount",
    "133": "payment suspended pending review",
    "136": "failure to follow the prior payer's coverage rules",
    "140": "patient or insured health identification number and name do not match",
    "142": "monthly Medicaid patient liability amount",
    "144": "incentive adjustment",
    "146": "diagnosis invalid for the service date",
    "150": "payer finds the information does not support this level of service",
    "151": "payer finds the information does not support this many services",
    "155": "patient refused the service",
    "163": "attachment referenced on the claim was not received",
    "164": "attachment was not received in time",
    "167": "this diagnosis is not covered",
    "170": "not paid when this type of provider bills it",
    "171": "not paid when this type of facility provides it",
    "172": "not paid when this provider specialty bills it",
    "181": "procedure code was invalid on the service date",
    "182": "procedure modifier was invalid on the service date",
    "183": "referring provider is not eligible to refer this service",
    "185": "rendering provider is not eligible to perform this service",
    "186": "level of care changed",
    "187": "consumer spending account payment",
    "189": "not otherwise classified or unlisted code used where a specific code exists",
    "190": "payment is included in the allowance for a skilled nursing stay",
    "192": "non-standard adjustment code from paper remittance",
    "193": "original payment decision maintained after review",
    "194": "anesthesia performed by the operating physician or assistant",
    "195": "refund issued to an erroneous priority payer",
    "197": "prior authorization, precertification or notification missing",
    "198": "precertification or authorization exceeded",
    "199": "revenue code and procedure code do not match",
    "200": "expenses incurred during a lapse in coverage",
    "201": "patient is responsible under a spend-down or share of cost",
    "202": "non-covered personal comfort or convenience services",
    "203": "coverage discontinued or reduced",
    "204": "service not covered by the patient's current benefit plan",
    "206": "national provider identifier missing",
    "207": "national provider identifier invalid",
    "208": "national provider identifier does not match",
    "209": "amount may not be collected from the patient: refund any collected",
    "219": "based on extent of injury",
    "222": "maximum hours or units for this provider reached",
    "223": "adjustment required by law",
    "226": "information requested from the provider was not received or incomplete",
    "227": "information requested from the patient was not received or incomplete",
    "231": "mutually exclusive procedures cannot be done on the same day",
    "232": "institutional transfer amount",
    "233": "services or charges caused by a hospital-acquired condition",
    "234": "procedure not paid separately",
    "235": "sales tax",
    "236": "procedure or modifier not compatible with another one on the same day",
    "237": "legislated or regulatory penalty",
    "242": "services not provided by network or primary care providers",
    "243": "services not authorized by network or primary care providers",
    "245": "provider performance program withhold",
    "246": "non-payable code, reported for information only",
    "250": "attachment content received is not what was requested",
    "251": "attachment received is incomplete or deficient",
    "252": "an attachment or other documentation is required",
    "253": "sequestration: federal mandatory reduction",
    "254": "claim received by the dental plan but should go to the medical plan",
    "256": "service not payable under the payer's contract",
    "258": "patient was in custody or incarcerated",
    "261": "procedure or service inconsistent with the patient's history",
    "270": "claim received by the medical plan but should go to the dental plan",
    "272": "coverage or program guidelines not met",
    "273": "coverage or program guidelines exceeded",
    "275": "prior payer's patient responsibility is not covered",
    "276": "services denied by the prior payer are not covered",
    "277": "disposition of this claim or service is undetermined",
    "279": "services not covered by this plan's capitated arrangement",
    "288": "referral absent",
    "290": "claim received by the dental plan, medical plan has been billed",
    "A0": "patient refund amount",
    "A1": "claim or service denied",
    "A2": "contractual adjustment (retired)",
    "A5": "medicare claim PPS capital cost outlier amount",
    "A6": "prior hospitalization or 30-day transfer requirement not met",
    "A7": "presumptive payment adjustment (retired)",
    "A8": "ungroupable diagnosis related group",
    "B1": "non-covered visits",
    "B4": "late filing penalty",
    "B5": "coverage or program guidelines not met or exceeded",
    "B7": "provider was not certified or eligible for this procedure on this date",
    "B8": "alternative services were available and should have been used",
    "B9": "patient is enrolled in a hospice",
    "B10": "allowed amount reduced: a component of the basic procedure was billed separately",
    "B11": "claim transferred to the proper payer or processor",
    "B12": "services not documented in the patient's medical records",
    "B13": "previously paid: payment for this claim was made under another claim",
    "B14": "only one visit or consultation per physician per day is covered",
    "B15": "requires another qualifying service or procedure",
    "B16": "new patient qualifications not met",
    "B20": "procedure or service partially or fully furnished by another provider",
    "B22": "payment adjusted based on the diagnosis",
    "B23": "provider has not passed the required laboratory certification",
    "P1": "state-mandated requirement for property and casualty",
    "P2": "not a work-related injury or illness",
}

RARC: dict[str, str] = {
    "M15": "separately billed services or tests were bundled into another service",
    "M20": "HCPCS code missing or invalid",
    "M51": "procedure code missing, incomplete or invalid",
    "M68": "missing, incomplete or invalid attending, ordering or referring provider",
    "M76": "diagnosis or condition code missing or invalid",
    "M77": "place of service missing or invalid",
    "M80": "not covered when performed during the same session as another service",
    "M86": "service denied because payment already made for a similar procedure",
    "M127": "patient's medical record for this service is missing",
    "MA01": "you may appeal this decision in writing within the deadline",
    "MA02": "if you do not agree with this determination you may request a redetermination",
    "MA04": "secondary payment cannot be considered without the primary payer's information",
    "MA07": "claim information was forwarded to the supplemental insurer",
    "MA18": "claim information was also forwarded to the patient's supplemental insurer",
    "MA130": "claim has incomplete or invalid information; no appeal rights: correct and "
             "resubmit",
    "N1": "you may appeal this decision",
    "N4": "missing or incomplete prior insurance carrier's payment information",
    "N14": "payment based on a contractual amount or agreement, fee schedule or maximum",
    "N20": "service not payable with other service rendered on the same date",
    "N30": "patient ineligible for this service",
    "N95": "this provider type or specialty may not bill this service",
    "N115": "decision based on a local coverage determination",
    "N130": "consult plan benefit documents or guidelines for coverage restrictions",
    "N179": "additional information was requested from the member",
    "N220": "see the payer's website or contact them for more information",
    "N290": "rendering provider identifier missing, incomplete or invalid",
    "N362": "number of days or units exceeds the acceptable maximum",
    "N381": "consult the contractual terms for payment information",
    "N386": "decision based on a national coverage determination",
    "N425": "statutorily excluded service",
    "N432": "adjustment based on a recovery audit",
    "N479": "missing explanation of benefits from the other payer",
    "N522": "duplicate of a claim processed or in process",
    "N657": "should be billed with the appropriate code for these services",
}

CATEGORIES = ("eligibility", "authorization", "timely filing", "medical necessity", "bundling",
              "coordination of benefits", "missing information", "duplicate claim", "non-covered",
              "other")

_CATEGORY_OF: dict[str, str] = {}
for _category, _codes in (
    ("eligibility", ("26", "27", "204", "31", "32", "33", "34", "200", "B9")),
    ("authorization", ("197", "198", "15", "39", "243", "288")),
    ("timely filing", ("29", "B4")),
    ("medical necessity", ("50", "55", "56", "150", "151", "167")),
    ("bundling", ("97", "234", "59", "231", "236", "B10", "B15")),
    ("coordination of benefits", ("22", "23", "109", "136", "19", "20", "21")),
    ("missing information", ("16", "226", "252", "227", "163", "164", "250", "251", "206",
                             "207", "208", "A1")),
    ("duplicate claim", ("18", "B13")),
    ("non-covered", ("96", "49", "202", "246", "256", "258", "279", "B1")),
):
    for _code in _codes:
        _CATEGORY_OF.setdefault(_code, _category)

RETIRED = frozenset({"42", "A2", "A7"})


def _clean(code: object) -> str:
    text = "" if code is None else str(code).strip().upper()
    return "" if text in ("NAN", "<NA>", "NONE") else text


def carc_text(code: object) -> str:
    """Words for a claim adjustment reason code; a generic phrase for unknown codes."""
    code = _clean(code)
    return CARC.get(code, f"adjustment reason {code}" if code else "no reason given")


def rarc_text(code: object) -> str:
    code = _clean(code)
    return RARC.get(code, f"remark {code}" if code else "")


def reason_text(group: object, code: object) -> str:
    """`CO-29: timely filing limit expired` — the finding's Reason column."""
    group, code = _clean(group), _clean(code)
    label = f"{group}-{code}" if group and code else (code or group)
    return f"{label}: {carc_text(code)}" if label else ""


def group_text(group: object) -> str:
    group = _clean(group)
    return GROUPS.get(group, f"group {group}" if group else "")


def status_text(status: object) -> str:
    status = _clean(status)
    return CLAIM_STATUS.get(status, f"status {status}" if status else "")


def denial_category(code: object) -> str:
    """One of CATEGORIES for an adjustment reason code (`other` when none applies)."""
    return _CATEGORY_OF.get(_clean(code), "other")


def is_retired(code: object) -> bool:
    return _clean(code) in RETIRED
