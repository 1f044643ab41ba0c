"""E-mail through the instance's SMTP relay (staff reports with an XLSX attachment); addresses never reach a log
line unmasked, and a refusal is classified permanent (5xx) or transient (4xx, network)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .config import SmtpSettings

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
PERMANENT, TRANSIENT = "permanent", "transient"


class MailError(Exception):
    def __init__(self, code: str, kind: str):
        super().__init__(f"smtp {code}")
        self.code, self.kind = code, kind


def mask_email(address: str | None) -> str | None:
    """ma***@example.org: whose it is, recognisably, without the address."""
    if not address or "@" not in address:
        return None
    local, domain = address.rsplit("@", 1)
    return f"{local[:2]}***@{domain}"


def message_id(smtp: SmtpSettings, key: str) -> str:
    """A stable Message-ID for `key` (a row id): a repeat of the same mail carries the same one, so a client can drop it."""
    return f"<{key}@{smtp.sender.rsplit('@', 1)[-1]}>"


def send(
    smtp: SmtpSettings,
    to: str,
    subject: str,
    text: str,
    attachment: tuple[str, bytes] | None = None,
    *,
    msgid: str | None = None,
) -> str:
    """Send one message; its Message-ID. MailError(kind=PERMANENT|TRANSIENT) when the relay does not take it."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = msgid or make_msgid(domain=smtp.sender.rsplit("@", 1)[-1])
    message.set_content(text)
    if attachment:
        filename, data = attachment
        message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=filename)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as relay:
            if smtp.starttls:
                relay.starttls()
            if smtp.username:
                relay.login(smtp.username, smtp.password)
            relay.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        [(code, _)] = exc.recipients.values()
        raise MailError(str(code), PERMANENT if code >= 500 else TRANSIENT) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(str(exc.smtp_code), PERMANENT if exc.smtp_code >= 500 else TRANSIENT) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(exc.__class__.__name__, TRANSIENT) from None
    return message["Message-ID"]
