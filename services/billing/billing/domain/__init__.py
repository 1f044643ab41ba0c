"""Billing use cases: fee rules, billing runs, payments and the ledger, arrears, reminders and reports."""
