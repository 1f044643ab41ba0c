"""The receipt (收据) printed: an HTML page that works under its own Content-Security-Policy, and a PDF."""

from __future__ import annotations

import base64
import hashlib
import html
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from guanjia.money import yuan_text

METHOD_NAMES = {"cash": "现金", "wechat": "微信支付", "alipay": "支付宝", "bank_transfer": "银行转账", "card": "银行卡"}
REVERSAL_NAMES = {"entry_error": "录入错误", "refund": "退款", "bounced": "退票", "other": "其他"}
CJK_FONT = "STSong-Light"  # one of the Adobe CID fonts every PDF reader has: nothing to embed, nothing to download
PDF_TYPE = "application/pdf"

_STYLE = (
    "body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;max-width:42em;margin:2em auto;"
    "color:#222}h1{font-size:1.4em;text-align:center;margin:.2em 0}.company{text-align:center;margin:0}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.2em 1em}dt{color:#555}dd{margin:0}"
    "table{width:100%;border-collapse:collapse;margin:1em 0}td,th{padding:.3em .6em;border-bottom:1px solid #ccc;"
    "text-align:left}.amount{text-align:right}.void{color:#b00;font-weight:bold;font-size:1.3em;"
    "border:3px solid #b00;display:inline-block;padding:.1em .5em}button{font-size:1em;padding:.4em 1.2em}"
    "@media print{button{display:none}}"
)
_SCRIPT = "document.getElementById('print').addEventListener('click',function(){window.print()});"


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def content_security_policy() -> str:
    """The page's own policy: its one style block and its one script by their hashes, nothing else."""
    return (
        f"default-src 'none'; style-src '{_sha256(_STYLE)}'; script-src '{_sha256(_SCRIPT)}'; "
        "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def local_time(value: str | None, timezone: str) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def facts(receipt: dict, timezone: str) -> list[tuple[str, str]]:
    """The receipt's header rows, in the order both formats print them."""
    rows = [
        ("收据编号", receipt["receipt_number"]),
        ("小区", receipt.get("community_name") or receipt["community_id"]),
        ("房号", receipt.get("unit_label") or receipt.get("unit_number") or receipt["unit_id"]),
        ("收款时间", local_time(receipt["received_at"], timezone)),
        ("付款方式", METHOD_NAMES.get(receipt["method"], receipt["method"])),
    ]
    if receipt.get("reference"):
        rows.append(("交易流水号", receipt["reference"]))
    rows.append(("收款人", receipt.get("recorded_by_name") or receipt["recorded_by"]))
    if receipt["status"] == "reversed":
        reason = REVERSAL_NAMES.get(receipt.get("reversal_reason") or "", receipt.get("reversal_reason") or "")
        rows.append(("冲正", f"{local_time(receipt.get('reversed_at'), timezone)} {reason}".strip()))
    return rows


def item_rows(receipt: dict) -> list[tuple[str, str, str]]:
    """(fee items, period, amount) per bill paid; a bill of several fee items names each with its charge."""
    rows = []
    for item in receipt["items"]:
        lines = item.get("lines") or []
        name = item["description"]
        if len(lines) > 1:
            name = "、".join(f"{line['description']} {yuan_text(line['amount'])}" for line in lines)
        rows.append((name, item.get("period") or "", yuan_text(item["amount"])))
    return rows


def to_html(receipt: dict, timezone: str) -> str:
    esc = html.escape
    header = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts(receipt, timezone))
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(period)}</td><td class=amount>{esc(amount)}</td></tr>"
        for name, period, amount in item_rows(receipt)
    )
    void = '<p class="void">已冲正</p>' if receipt["status"] == "reversed" else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>收据 {esc(receipt["receipt_number"])}</title><style>{_STYLE}</style></head>
<body><p class="company">{esc(receipt.get("company_name") or "")}</p><h1>收据</h1>{void}
<dl>{header}</dl>
<table><thead><tr><th>收费项目</th><th>所属期间</th><th class=amount>金额</th></tr></thead><tbody>{rows}</tbody>
<tfoot><tr><th colspan=2>合计（大写）{esc(receipt["amount_in_words"])}</th>
<th class=amount>{esc(yuan_text(receipt["amount"]))}</th></tr></tfoot></table>
<button id="print" type="button">打印</button><script>{_SCRIPT}</script></body></html>"""


def _font() -> str:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def to_pdf(receipt: dict, timezone: str) -> bytes:
    """An A5 landscape receipt: company, title, facts, the bills paid, the total in figures and in capitals."""
    font = _font()
    text = ParagraphStyle("text", fontName=font, fontSize=10, leading=14)
    title = ParagraphStyle("title", parent=text, fontSize=18, leading=24, alignment=1)
    centre = ParagraphStyle("centre", parent=text, alignment=1)
    void = ParagraphStyle("void", parent=text, fontSize=16, leading=22, textColor=colors.red, alignment=1)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A5),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"收据 {receipt['receipt_number']}",
        author=receipt.get("company_name") or "",
    )
    story = [Paragraph(html.escape(receipt.get("company_name") or ""), centre), Paragraph("收据", title)]
    if receipt["status"] == "reversed":
        story.append(Paragraph("已冲正", void))
    pairs = facts(receipt, timezone)
    half = (len(pairs) + 1) // 2
    grid = [
        [
            Paragraph(f"{html.escape(k)}：{html.escape(v)}", text)
            for k, v in (pairs[i], pairs[i + half] if i + half < len(pairs) else ("", ""))
        ]
        for i in range(half)
    ]
    story += [Table(grid, colWidths=[93 * mm, 93 * mm]), Spacer(1, 4 * mm)]
    cell = [[Paragraph(h, text) for h in ("收费项目", "所属期间", "金额")]]
    cell += [
        [Paragraph(html.escape(n), text), Paragraph(p, text), Paragraph(a, text)] for n, p, a in item_rows(receipt)
    ]
    cell.append(
        [
            Paragraph(f"合计（大写）：{receipt['amount_in_words']}", text),
            "",
            Paragraph(yuan_text(receipt["amount"]), text),
        ]
    )
    table = Table(cell, colWidths=[116 * mm, 35 * mm, 35 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("SPAN", (0, -1), (1, -1)),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story.append(table)
    document.build(story)
    return buffer.getvalue()
