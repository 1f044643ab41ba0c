"""Notification use cases: functions taking a session and an explicit `now`, by subject.

deliveries (planning one row per event, recipient and channel; the delivery log, resend, a delivery's events),
dispatch (claim within quiet hours and caps, send with back-off, record outcomes), quiet_hours, caps (the
sms_counters), receipts (providers' delivery reports), messages (direct messages: sign-in codes), notices
(社区公告), stats (per local day), wording (operators' template texts), opt_outs.
"""
