"""The engine's tables: which input sheets exist, their columns, and the dtypes after reading.

Every input sheet becomes one pandas DataFrame. A column of kind

- `id`    gives `<name>` (text exactly as the staff typed it, for display) and `<name>_key`
          (the matching key: upper case, punctuation and spaces removed, leading zeros of digit runs
          dropped — `inv-00123 ` and `INV123` share the key `INV123`);
- `name`  gives `<name>` (display) and `<name>_key` (upper case, single spaces);
- `text`  gives `<name>` (str);
- `money` gives `<name>_cents` (pandas Int64, exact integer cents);
- `date`  gives `<name>` (datetime64, NaT when blank);
- `int` / `number` give `<name>` (Int64 / float64).

and every table also has `sheet` (the sheet's name as in the workbook), `row` (the row number
Excel shows) and `source` (`"Invoices row 12"`), so a finding can always point back to its cell.
A column absent from the sheet is present in the table, all missing.
"""

from __future__ import annotations

from dataclasses import dataclass

SheetName = str


@dataclass(frozen=True)
class Field:
    name: str  # snake_case canonical name; the canonical header is name.replace("_", " ")
    kind: str  # id | name | text | money | date | int | number
    required: bool = False
    synonyms: tuple[str, ...] = ()

    @property
    def header(self) -> str:
        return {"patient_id": "Patient ID", "cpt": "CPT", "adj_group": "Adj group",
                "adj_reason": "Adj reason", "adj_amount": "Adj amount",
                "patient_resp": "Patient resp", "service_date": "Service date",
                "invoice_date": "Invoice date", "due_date": "Due date",
                "payment_id": "Payment ID", "grace_days": "Grace days"}.get(
            self.name, self.name.replace("_", " ").capitalize())


_INVOICE = ("Invoice #", "Invoice No", "Invoice Number", "Inv #", "Inv No", "Bill No",
            "Account No", "Invoice ID", "Bill #")
_CLAIM = ("Claim #", "Claim No", "Claim ID", "Patient Control No", "PCN", "Control No",
          "Claim Number", "Patient Control Number")
_SERVICE_DATE = ("DOS", "Date of Service", "Svc Date", "Service Dt")
_PATIENT = ("Patient Name", "Pt Name", "Name", "Guarantor", "Patient Full Name")
_PATIENT_ID = ("MRN", "Patient #", "Pt ID", "Account #", "Chart No", "Chart #", "Patient No",
               "Pt #", "Patient Number")
_PAYER = ("Insurance", "Insurer", "Carrier", "Plan Name", "Payor", "Paid By", "From",
          "Insurance Company", "Primary Insurance")
_REFERENCE = ("Ref", "Ref #", "Check #", "Check No", "Check/EFT #", "EFT Trace", "Trace",
              "Auth Code", "Description", "Memo", "Reference #", "Reference No", "Check Number",
              "Trace #", "Trace Number")
_CPT = ("CPT Code", "Procedure", "Proc Code", "HCPCS", "Code", "Procedure Code")
_EXPECTED = ("Allowed", "Allowed Amount", "Contract Rate", "Contracted", "Fee", "Rate",
             "Expected Amount", "Contracted Amount")
_PAY_AMOUNT = ("Paid", "Amount Paid", "Payment", "Payment Amount", "Credit", "Deposit",
               "Deposit Amount", "Amt Paid", "Amount Received")
_PAY_DATE = ("Payment Date", "Date Received", "Received", "Posted", "Deposit Date", "Post Date",
             "Paid On", "Date Paid", "Posting Date")

SHEETS: dict[SheetName, tuple[Field, ...]] = {
    "Invoices": (
        Field("invoice", "id", True, _INVOICE),
        Field("amount", "money", True, ("Billed", "Amt Billed", "Billed Amount", "Charge",
                                        "Charges", "Total Charge", "Invoice Amount",
                                        "Amount Billed", "Total Charges", "Charge Amount")),
        Field("patient_id", "id", False, _PATIENT_ID),
        Field("patient", "name", False, _PATIENT),
        Field("service_date", "date", False, _SERVICE_DATE),
        Field("invoice_date", "date", False, ("Bill Date", "Billed On", "Date Billed",
                                              "Claim Date", "Invoice Dt")),
        Field("due_date", "date", False, ("Due", "Due On", "Payment Due", "Due Dt")),
        Field("payer", "name", False, _PAYER),
        Field("claim", "id", False, _CLAIM),
        Field("cpt", "id", False, _CPT),
        Field("modifier", "id", False, ("Mod", "Modifiers")),
        Field("units", "number", False, ("Qty", "Quantity", "Unit")),
        Field("expected", "money", False, _EXPECTED),
    ),
    "Payments": (
        Field("amount", "money", True, _PAY_AMOUNT),
        Field("date", "date", True, _PAY_DATE),
        Field("payment_id", "id", False, ("Payment #", "Payment No", "Receipt #", "Receipt No",
                                          "Txn ID", "Transaction ID")),
        Field("invoice", "id", False, _INVOICE + ("Applied To", "Applied to Invoice")),
        Field("patient_id", "id", False, _PATIENT_ID),
        Field("patient", "name", False, _PATIENT),
        Field("payer", "name", False, _PAYER),
        Field("method", "text", False, ("Payment Method", "Type", "Pay Method", "Payment Type")),
        Field("reference", "id", False, _REFERENCE),
        Field("claim", "id", False, _CLAIM),
    ),
    "Remittances": (
        Field("claim", "id", True, _CLAIM),
        Field("paid", "money", True, ("Paid Amount", "Amount Paid", "Payment", "Claim Paid")),
        Field("trace", "id", False, ("Trace #", "Trace No", "EFT Trace", "Check #", "Check No",
                                     "TRN")),
        Field("payer", "name", False, _PAYER),
        Field("status", "text", False, ("Claim Status", "Status Code")),
        Field("billed", "money", False, ("Charge", "Charges", "Billed Amount", "Total Charge")),
        Field("allowed", "money", False, ("Allowed Amount",)),
        Field("patient_resp", "money", False, ("Patient Responsibility", "Pt Resp", "PR Amount")),
        Field("adj_group", "text", False, ("Group Code", "Adjustment Group", "CAS Group")),
        Field("adj_reason", "text", False, ("Reason Code", "Adjustment Reason", "CARC")),
        Field("adj_amount", "money", False, ("Adjustment", "Adjustment Amount", "Adj Amt")),
        Field("cpt", "id", False, _CPT),
        Field("service_date", "date", False, _SERVICE_DATE),
    ),
    "Deposits": (
        Field("date", "date", True, _PAY_DATE + ("Date Deposited", "Posting Date")),
        Field("amount", "money", True, _PAY_AMOUNT),
        Field("reference", "text", False, _REFERENCE + ("Reference / Description",)),
        Field("payer", "name", False, _PAYER),
    ),
    "FeeSchedule": (
        Field("payer", "name", True, _PAYER),
        Field("cpt", "id", True, _CPT),
        Field("expected", "money", True, _EXPECTED),
        Field("modifier", "id", False, ("Mod", "Modifiers")),
    ),
    "PaymentPlans": (
        Field("plan", "id", True, ("Plan #", "Plan No", "Plan ID", "Arrangement")),
        Field("installment", "money", True, ("Installment Amount", "Monthly Amount",
                                             "Payment Amount")),
        Field("start", "date", True, ("Start Date", "First Due", "First Payment")),
        Field("patient_id", "id", False, _PATIENT_ID),
        Field("invoice", "id", False, _INVOICE),
        Field("total", "money", False, ("Plan Total", "Total Amount", "Balance")),
        Field("frequency", "text", False, ("Freq", "Schedule")),
        Field("count", "int", False, ("Installments", "Number of Payments", "# Payments")),
        Field("grace_days", "int", False, ("Grace", "Grace Period")),
    ),
    "Settings": (
        Field("key", "text", True, ("Setting", "Name")),
        Field("value", "text", True, ("Setting Value",)),
    ),
}

INPUT_SHEETS = tuple(SHEETS)
RESULT_SHEETS = ("Recon Summary", "Reconciliation", "Discrepancies", "Aging", "Plans")


def columns_of(sheet: SheetName) -> list[str]:
    """The DataFrame columns a read sheet has, in order."""
    cols = ["sheet", "row", "source"]
    for f in SHEETS[sheet]:
        if f.kind in ("id", "name"):
            cols += [f.name, f"{f.name}_key"]
        elif f.kind == "money":
            cols.append(f"{f.name}_cents")
        else:
            cols.append(f.name)
    return cols
