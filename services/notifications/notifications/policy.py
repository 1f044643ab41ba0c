"""Need-to-know table of the notifications service: who may read and change which resource, and why.

Enforced for every request by guanjia.access; which deliveries (own, community) is the domain's. docs/security.md
embeds this table; the access matrix tests are generated from it.
"""

from __future__ import annotations

from guanjia.access import Policy, Resource

R, B, SB, CM, E, F, IG = "resident", "butler", "senior_butler", "cs_manager", "engineer", "finance", "integrator"
N = "/api/v1/notifications"

RESOURCES = [
    Resource(
        "delivery log",
        (N, f"{N}/<delivery_id>", f"{N}/<delivery_id>/resend"),
        read=(R, B, SB, CM, IG),
        write=(B, SB, CM),
        why="a resident sees what was sent to them; the service desk follows and resends; engineers and finance "
        "are told, they do not read the log",
    ),
    Resource(
        "delivery statistics",
        (f"{N}/stats",),
        read=(B, SB, CM, IG),
        write=(),
        why="the service desk and the operator's reporting watch delivery and cost",
    ),
    Resource(
        "own SMS preferences",
        (f"{N}/preferences/me",),
        read=(R,),
        write=(R,),
        why="a resident chooses what they hear",
    ),
    Resource(
        "community quiet hours",
        (f"{N}/communities/<community_id>/quiet-hours",),
        read=(CM,),
        write=(CM,),
        why="the community's manager decides whether WeChat may carry non-urgent messages at night (the operator "
        "may too); SMS always keeps quiet hours",
    ),
    Resource(
        "own inbox",
        ("/api/v1/inbox", "/api/v1/inbox/<message_id>/read"),
        read=(R, B, SB, CM, E, F),
        write=(R, B, SB, CM, E, F),
        why="everyone told something reads it in their own inbox (a resident theirs, staff theirs), nobody "
        "else's; integrators (machines) have none",
    ),
    Resource(
        "WeChat binding codes",
        (f"{N}/wechat/binding-codes",),
        read=(),
        write=(B, SB, CM),
        why="the butler gives a household the code that binds a resident's WeChat",
    ),
    Resource(
        "own WeChat binding",
        (f"{N}/wechat/bindings", f"{N}/wechat/bindings/me"),
        read=(R,),
        write=(R,),
        why="a resident binds and unbinds their own WeChat; staff need not know anyone's openid",
    ),
    Resource(
        "community notices",
        (f"{N}/notices", f"{N}/notices/<notice_id>", f"{N}/notices/preview"),
        read=(B, SB, CM),
        write=(B, SB, CM),
        why="the service desk writes notices to a community, a building or a zone",
    ),
    Resource(
        "SMS templates",
        (f"{N}/templates", f"{N}/templates/<key>/<locale>"),
        read=(B, SB, CM, E, F),
        write=(),
        why="staff may read the wording; the operator (admin) sets it",
    ),
    Resource(
        "SMS provider settings",
        (f"{N}/provider",),
        read=(),
        write=(),
        why="the operator (admin) checks what is in force; secrets are never shown, only whether they are set",
    ),
]


def policy() -> Policy:
    return Policy(
        "notifications",
        RESOURCES,
        service_only=("/api/v1/internal",),
        public=(f"{N}/receipts/aliyun", f"{N}/receipts/tencent", f"{N}/receipts/twilio", f"{N}/receipts/wechat"),
    )
