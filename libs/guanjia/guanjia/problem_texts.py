"""The services' own problem messages in zh-CN: exact sentences and templates with placeholders (see problems.py)."""

from __future__ import annotations

import re

# Werkzeug's default descriptions: the detail of an abort(status) without a message of its own.
WERKZEUG_MESSAGES_ZH = {
    "The browser (or proxy) sent a request that this server could not understand.": "服务器无法理解该请求。",
    "The server could not verify that you are authorized to access the URL requested. You either supplied the "
    "wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials "
    "required.": "无法确认您有权访问该地址：凭据有误（例如密码错误），或未提供凭据。",
    "You don't have the permission to access the requested resource. It is either read-protected or not readable "
    "by the server.": "您无权访问该资源。",
    "A conflict happened while processing the request. The resource might have been modified while the request "
    "was being processed.": "处理请求时发生冲突，该资源可能已被他人修改。",
    "The requested URL is no longer available on this server and there is no forwarding address. If you followed "
    "a link from a foreign page, please contact the author of this page.": "该地址已不存在。",
    "The precondition on the request for the URL failed positive evaluation.": "请求的前提条件不满足。",
    "The data value transmitted exceeds the capacity limit.": "提交的内容超过大小限制。",
    "The server does not support the media type transmitted in the request.": "服务器不支持该请求的内容类型。",
    "The request was well-formed but was unable to be followed due to semantic errors.": "请求格式正确，但内容有误。",
    "This user has exceeded an allotted request count. Try again later.": "请求次数超过限额，请稍后再试。",
    "The server encountered an internal error and was unable to complete your request. Either the server is "
    "overloaded or there is an error in the application.": "服务器内部错误，未能完成请求。",
    "The proxy server received an invalid response from an upstream server.": "上游服务返回了无效的响应。",
    "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. "
    "Please try again later.": "服务暂时不可用（维护或负载过高），请稍后再试。",
    "The connection to an upstream server timed out.": "连接上游服务超时。",
}

# Exact English messages raised by the services and libs/guanjia → Chinese, as a property office says it.
DOMAIN_MESSAGES_ZH = {
    # libs/guanjia
    "for services only": "仅限内部服务调用",
    "token carries no known role": "令牌中的角色无法识别",
    "already used with a different request body": "该幂等键已用于另一个不同的请求",
    "not a phone number": "不是手机号码",
    "not a valid phone number": "不是有效的手机号码",
    "not a valid Chinese resident ID number": "不是有效的居民身份证号码",
    "the file is empty": "文件为空",
    "no such route": "没有该接口地址",
    "/metrics needs the metrics token": "访问 /metrics 需要监控令牌",
    "must be 1 to 200 characters": "长度必须为 1 到 200 个字符",
    "Upload too large": "上传文件过大",
    "not an XLSX workbook": "不是 XLSX 工作簿",
    "not a number": "不是数字",
    "not a plain decimal": "不是普通的十进制数",
    "not a finite number": "不是有限的数字",
    "too many digits": "位数过多",
    "not a complete PDF document": "不是完整的 PDF 文件",
    "the image is not what its first bytes say": "图片内容与其文件头不符",
    "the image has too many pixels": "图片像素过多",
    # billing
    "the signature does not verify": "签名校验未通过",
    "a rate from this date exists; add one from another date": "该日期起已有费率，请从其他日期起新增",
    "not a metered fee item": "不是按表计量的收费项目",
    "must not be below the previous reading": "不能低于上次抄表读数",
    "a reading for this unit, item and period exists": "该房屋此收费项目本期已有抄表读数",
    "already read for this period": "本期已抄表",
    "reminder days must grow: first < second < final": "催缴天数必须递增：第一次 < 第二次 < 最后一次",
    "a bill is named twice": "同一账单出现了两次",
    'must be a month, like "2026-11"': "必须是月份，例如“2026-11”",
    "not a resident of this unit": "不是该房屋的住户",
    'must be a month "2026-11", a quarter "2026-Q4", a half-year "2026-H2" or a year "2026"': (
        "必须是月份“2026-11”、季度“2026-Q4”、半年“2026-H2”或年份“2026”"
    ),
    'must be a decimal string with at most two decimal places, like "1234.50"': (
        "必须是最多两位小数的金额文本，例如“1234.50”"
    ),
    # gateway
    "this password must be changed before the first sign-in": "首次登录前必须修改该密码",
    "invalid refresh token": "刷新令牌无效",
    "refresh token reused: every token of this sign-in is revoked": "刷新令牌被重复使用：本次登录的所有令牌均已吊销",
    "the residents service could not confirm the household; try again": "住户服务暂时无法确认住户信息，请重试",
    "the residents service could not look the phone up": "住户服务暂时无法查询该手机号",
    "the code could not be sent; try again": "验证码发送失败，请重试",
    "too many attempts; try again later": "尝试次数过多，请稍后再试",
    "must differ from the current password": "不能与当前密码相同",
    "Password change required": "需要修改密码",
    "required for engineers": "工程人员必填",
    "the bootstrap admin keeps its role and stays active": "初始管理员的角色不可更改，且不能停用",
    "no user record behind this token": "该令牌没有对应的用户",
    "6 digits": "6 位数字",
    "2-64 letters, digits or _ . @ -": "2 到 64 个字母、数字或 _ . @ -",
    "too easy to guess: a common password, or a common word with digits around it": (
        "过于容易被猜到：常见密码，或常见单词加数字"
    ),
    "must not contain the username": "不能包含用户名",
    # notifications
    "templates are for staff": "短信模板仅限工作人员使用",
    "receipts from this provider are not configured on this instance": "本系统未配置该短信服务商的回执",
    "receipt token does not match": "回执令牌不匹配",
    "a JSON array of reports": "必须是回执报告的 JSON 数组",
    "X-Twilio-Signature does not match": "X-Twilio-Signature 签名不匹配",
    "4 to 10 letters or digits": "4 到 10 个字母或数字",
    "a butler sends notices to their own zones": "管家只能向自己负责的片区发送通知",
    "links are not allowed in SMS text (providers reject them)": "短信内容不能包含链接（服务商会拒发）",
    "unknown zone in this community": "本小区没有该片区",
    "a direct message (sign-in code) is not resent; ask for a new one": "登录验证码短信不会重发，请重新获取",
    "statistics are for staff": "统计数据仅限工作人员查看",
    "before date_from": "早于 date_from",
    "at most 93 days at once": "一次最多 93 天",
    "only an admin changes templates": "只有管理员可以修改短信模板",
    "residents choose for themselves": "住户自行选择",
    # residents
    "this key is out on loan; it must be returned first": "该钥匙已借出，须先归还",
    "not on the list of people allowed to collect this key": "不在该钥匙的授权领取人名单中",
    "this key is in custody, not out on loan": "该钥匙在物业保管中，未借出",
    "must not be in the future": "不能是将来的时间",
    "already active": "已启用",
    "a resident_id, or a name and a phone": "请提供 resident_id，或姓名和手机号",
    "must be another record": "必须是另一条记录",
    "must be a record of the same unit": "必须是同一房屋的记录",
    "the duplicate has moved in or out; merge it into a record in the same state": (
        "重复记录已有入住或迁出，请合并到状态相同的记录"
    ),
    "only a record that never moved in can be removed; record a move-out instead": (
        "只有从未入住的记录可以删除，请改为登记迁出"
    ),
    "this record is referred to; merge it into the right record instead": "该记录已被引用，请合并到正确的记录",
    "only residents who moved in can move out": "只有已入住的住户才能迁出",
    "nobody has moved in": "无人入住",
    "residents authorise passes in their own name": "住户只能以本人名义开具放行条",
    "the unit is occupied": "房屋已有人入住",
    "the unit is under renovation": "房屋正在装修",
    "a moved-out resident's record is kept as it was": "已迁出住户的记录保持原样，不可修改",
    "moved out": "已迁出",
    "names are masked for your role: search by the full phone number, ID number or unit number": (
        "您的角色看不到完整姓名：请按完整手机号、证件号或房号查找"
    ),
    "this phone number is already registered in this unit": "该手机号已在本房屋登记",
    "already registered": "已登记",
    "residents may change only their own emergency contact and SMS opt-out": "住户只能修改本人的紧急联系人和短信退订设置",
    "must be after the inspection": "必须晚于巡查时间",
    "only a serious or repeated violation is referred": "只有严重或屡次违规才会移交处理",
    "acceptance not before the planned start": "不能早于计划开工日期验收",
    "violations are not rectified yet": "违规尚未整改",
    "residents apply in their own name": "住户只能以本人名义申请",
    "must not be before planned_start": "不能早于 planned_start",
    "this unit already has a renovation under way": "该房屋已有进行中的装修",
    "renovation under way": "装修进行中",
    "engineering did not pass this plan; reject it or have it reviewed again": "工程部未通过该装修方案，请驳回或重新送审",
    "this violation is already rectified": "该违规已整改",
    "Import rejected": "导入被拒绝",
    "no sheet named 楼栋/buildings, 房屋/units or 住户/residents": "没有名为 楼栋/buildings、房屋/units 或 住户/residents 的工作表",
    "neither UTF-8 nor GB18030 text": "既不是 UTF-8 也不是 GB18030 编码的文本",
    "empty file": "空文件",
    "appears twice in the file": "在文件中出现了两次",
    "a whole number between -20 and 300": "必须是 -20 到 300 之间的整数",
    "appears twice for this unit in the file": "该房屋在文件中出现了两次",
    "no such unit in this community or in the file": "本小区及文件中都没有该房屋",
    "must not exceed the gross area": "不能超过建筑面积",
    "already exists": "已存在",
    "differs from area_m2 (both are the gross area)": "与 area_m2 不一致（二者都是建筑面积）",
    "must not be blank": "不能为空",
    "at least one span such as 08:00-12:00": "至少一个时段，例如 08:00-12:00",
    'must be a decimal string such as "88.50", not a number': "必须是数字文本，例如“88.50”，而不是数值",
    "must not be negative": "不能为负数",
    'must be a decimal string such as "88.50"': "必须是数字文本，例如“88.50”",
    "must be greater than 0": "必须大于 0",
    "required (multipart field `file`, or the body)": "必填（multipart 字段 `file`，或请求体）",
    "required for a CSV file": "CSV 文件必填",
    # tickets
    "not a visit of this ticket": "不是该工单的回访记录",
    "business hours need HH:MM times with the end after the start": "工作时间须为 HH:MM 格式，且结束晚于开始",
    "residents file tickets for themselves": "住户只能为自己报修",
    "set by the property staff": "由物业工作人员设置",
    "set by the service desk; send urgent: true to ask for a quick response": "由客服中心设置；如需加急请发送 urgent: true",
    "not in one of your zones": "不在您负责的片区内",
    "required for a ticket in a unit": "房屋内的工单必填",
    "required for a public-area ticket": "公共区域的工单必填",
    "does not match the unit's zone": "与房屋所在片区不符",
    "required when a ticket is reassigned or transferred": "工单改派或转派时必填",
    "the ticket is already with this person and department": "工单已在该部门和该人员手中",
    "a decimal amount such as 120.50": "须为金额，例如 120.50",
    "a positive amount with at most two decimals, up to 1000000": "须为正数金额，最多两位小数，不超过 1000000",
    "only repairs and service requests are charged": "只有维修和服务类工单可以收费",
    "there is no quote to accept": "没有可确认的报价",
    "required when the resident was reached": "联系上住户时必填",
    "only for a resident who was reached": "仅适用于已联系上的住户",
    "not a checkpoint of this round's plan": "不是本轮巡检计划的巡检点",
    "not the zone's community": "不是该片区所属的小区",
    "required when frequency is every_n_days": "frequency 为 every_n_days 时必填",
    "checkpoint codes must be unique within a plan": "同一巡检计划内巡检点编号不能重复",
    "not a current resident of this ticket's unit": "不是该工单房屋的在住住户",
    "no such staff member in this community": "本小区没有该工作人员",
    "YYYY-MM for a month, YYYY-MM-DD for a week": "按月填 YYYY-MM，按周填 YYYY-MM-DD",
    # on the integration branch since this catalogue was started
    "unknown query parameter": "不认识的查询参数",
    "only staff see the staff directory": "只有工作人员可以查看员工通讯录",
    "billing cannot say whether the renovation deposit is paid; try again shortly": (
        "收费系统暂时无法确认装修押金是否已缴，请稍后再试"
    ),
    "billing does not know this renovation's deposit yet": "收费系统尚无该装修的押金记录",
    "billing has not billed this renovation's deposit yet; retry shortly": "收费系统尚未开出该装修的押金账单，请稍后重试",
    "this community issues permits without waiting for the deposit": "本小区开具装修许可证无需等待押金缴清",
    # community
    "no such community": "没有该小区",
    "no such entry": "没有该条目",
    "no such household": "没有该住户",
    "no such survey": "没有该调查",
    "not a telephone number": "不是电话号码",
    "a survey needs at least one question": "问卷至少需要一道题目",
    "a choice question needs two or more distinct options": "选择题至少需要两个互不相同的选项",
    "only choice questions have options": "只有选择题才有选项",
    "the survey is open or closed: its questions are frozen": "调查已开始或已结束，题目不能再修改",
    "a survey stays in its community": "调查不能改到其他小区",
    "the survey has already been opened": "该调查已经开始",
    "no household in the survey's audience yet": "调查范围内还没有住户",
    "must be one of the question's options": "必须是该题的选项之一",
    "must be a list of the question's options": "必须是该题选项的列表",
    "must be a whole number on the question's scale": "必须是该题分值范围内的整数",
    "must be a text of 1 to 2,000 characters": "必须是 1 到 2000 个字符的文字",
    "the survey is not open for answers": "该调查未在进行中，不能作答",
    "residents answer on the mobile page": "住户请在手机页面作答",
    "staff record answers taken by phone or on a visit": "工作人员只能录入电话或上门收集的答卷",
    "name the household": "请指明住户",
    "this household is not in the survey's audience": "该住户不在本次调查范围内",
    "not a question of this survey": "不是本调查的题目",
    "this question must be answered": "此题必答",
    "this household has already answered the survey": "该住户已经提交过答卷",
    "only an open survey can be closed": "只有进行中的调查才能结束",
    "the report is made when the survey closes": "调查结束后才生成分析报告",
    "no such catalogue item": "没有该服务项目",
    "no such order": "没有该服务订单",
    "a fixed or per-unit price needs a price above zero": "固定价或按单位计价的项目需要大于零的价格",
    "a quoted or free item has no list price": "报价或免费项目没有标价",
    "not an item of this household's community": "不是该住户所在小区的服务项目",
    "only per-unit items take a quantity": "只有按单位计价的项目才能填写数量",
    "the order cannot take this step in its present state": "该订单当前状态下不能进行此操作",
    "only a quoted item is priced per order": "只有报价项目才能按单定价",
    "price the quoted order when scheduling it": "请在排期时为报价订单定价",
    "the household rates its own order": "由住户为自己的订单评价",
    "no such activity": "没有该活动",
    "no such sign-up": "没有该报名记录",
    "must be after the start": "必须晚于开始时间",
    "sign-up must close by the start": "报名截止时间不能晚于活动开始",
    "the activity is cancelled": "该活动已取消",
    "only an owner meeting has minutes": "只有业主见面会才有会议纪要",
    "a published activity cannot go back to draft": "已发布的活动不能改回草稿",
    "the activity is not open for sign-up": "该活动未开放报名",
    "sign-up has closed": "报名已截止",
    "the activity is full": "活动名额已满",
    "this household has already signed up": "该住户已经报名",
    "the sign-up is already cancelled": "该报名已取消",
    "only a confirmed sign-up can check in": "只有已确认的报名才能签到",
    **WERKZEUG_MESSAGES_ZH,
    "business hours need at least one day and an end after the start": "工作时间至少包含一天，且结束晚于开始",
    "deadline too far in the future": "期限太远",
    "bad storage key": "存储键无效",
}

# Status, action and role words that f-strings put into a message → how a Chinese office names them.
VALUES_ZH = {
    # ticket statuses and actions
    "new": "新建",
    "assigned": "已派单",
    "in_progress": "处理中",
    "on_hold": "挂起",
    "resolved": "已解决",
    "closed": "已关闭",
    "cancelled": "已取消",
    "reopened": "已重开",
    "assign": "派单",
    "start": "开始处理",
    "hold": "挂起",
    "resume": "恢复处理",
    "quote": "报价",
    "accept-quote": "确认报价",
    "resolve": "解决",
    "reopen": "重开",
    "cancel": "取消",
    "triage": "分级",
    "nothing": "无",
    "read": "查看",
    "change": "修改",
    "database": "数据库",
    "a dependency": "依赖服务",
    # units, cards, passes, renovations, deliveries, rounds
    "active": "启用",
    "lost": "挂失",
    "revoked": "注销",
    "used": "已使用",
    "expired": "已过期",
    "pending": "待发送",
    "submitted": "已提交",
    "reviewed": "已审核",
    "approved": "已批准",
    "rejected": "已驳回",
    "failed": "失败",
    "sent": "已发送",
    "delivered": "已送达",  # a message; a unit's "delivered" is UNIT_STATUS_ZH's
    "completed": "已完成",
    "missed": "已漏检",
    "registered": "已登记",
    "moved_in": "已入住",
    "moved_out": "已迁出",
    "issued": "已开具",
    "in_custody": "物业保管中",
    "lent": "已借出",
    "sending": "发送中",
    "skipped": "已跳过",
    "open": "未整改",
    "rectified": "已整改",
    # roles
    "admin": "管理员",
    "butler": "管家",
    "senior_butler": "高级管家",
    "cs_manager": "客服经理",
    "engineer": "工程人员",
    "finance": "财务",
    "resident": "住户",
    "service": "内部服务",
    "integrator": "对接方",
    # fee kinds and bases
    "property_service": "物业服务",
    "elevator": "电梯",
    "parking": "停车",
    "water": "水",
    "electricity": "电",
    "gas": "燃气",
    "per_m2": "按面积",
    "per_unit": "按户",
    "per_space": "按车位",
    "metered": "按表计量",
    # ticket channels
    "app": "App",
    "wechat": "微信",
    # scopes of a notice
    "community": "小区",
    "zone": "片区",
    "building": "楼栋",
    "unit": "房屋",
}

# A unit's status (group `unit_status`): "delivered" there means handed over to its owner, not a message delivered.
UNIT_STATUS_ZH = {"vacant": "空置", "delivered": "已交付", "occupied": "已入住", "renovating": "装修中"}


def _p(pattern: str) -> re.Pattern:
    return re.compile("^" + pattern + "$")


# (English pattern, Chinese template) for the messages the services build with f-strings. A group named
# status/action/role/scope/kind is looked up in VALUES_ZH (unknown values stay as they are).
DOMAIN_PATTERNS_ZH = [
    # libs/guanjia
    (_p(r"role (?P<role>\S+) has no need to (?P<verb>\S+) (?P<what>.+)"), "{role}角色无需{verb} {what}"),
    (_p(r"role (?P<role>\S+) may not do this to ticket (?P<id>\S+)"), "{role}角色无权对工单 {id} 执行此操作"),
    (_p(r"role (?P<role>\S+) may not do this"), "{role}角色无权执行此操作"),
    (_p(r"role (?P<role>\S+) may not change the rules of a community"), "{role}角色无权修改小区的规则"),
    (_p(r"role (?P<role>\S+) may not file tickets"), "{role}角色无权提交工单"),
    (_p(r"role (?P<role>\S+) may not plan patrols"), "{role}角色无权制定巡检计划"),
    (_p(r"role (?P<role>\S+) may not read reports"), "{role}角色无权查看报表"),
    (_p(r"role (?P<role>\S+) may not record return visits"), "{role}角色无权登记回访"),
    (_p(r"role (?P<role>\S+) may not resend messages"), "{role}角色无权重发短信"),
    (_p(r"role (?P<role>\S+) may not send notices"), "{role}角色无权发送通知"),
    (_p(r"at most (?P<n>\d+) decimal places"), "最多 {n} 位小数"),
    (_p(r"the (?P<name>\S+) service is not part of this instance"), "本系统未部署 {name} 服务"),
    (_p(r"(?P<name>\S+) answered (?P<status>\S+) for (?P<path>\S+)"), "{name} 服务对 {path} 返回了 {status}"),
    (_p(r"(?P<name>\S+) did not answer in time"), "{name} 服务响应超时"),
    (_p(r"(?P<name>\S+) is unreachable"), "无法连接 {name} 服务"),
    (_p(r"(?P<name>\S+) closed the connection"), "{name} 服务断开了连接"),
    (_p(r"a multipart file field named (?P<field>\S+) is required"), "需要名为 {field} 的 multipart 文件字段"),
    (_p(r"(?P<field>\S+) is larger than (?P<n>\d+) bytes"), "{field} 超过 {n} 字节"),
    (_p(r"at most (?P<n>\d+) bytes"), "最多 {n} 字节"),
    (
        _p(r"the workbook unpacks to (?P<a>\d+) MiB; at most (?P<b>\d+) MiB allowed"),
        "工作簿解压后为 {a} MiB，最多允许 {b} MiB",
    ),
    (_p(r"unpacks to more than (?P<n>\d+) bytes"), "解压后超过 {n} 字节"),
    (_p(r"sheet (?P<sheet>.+?) row (?P<row>\d+): a cell is too long"), "工作表 {sheet} 第 {row} 行：有单元格内容过长"),
    (_p(r"row (?P<row>\d+): (?P<message>.+)"), "第 {row} 行：{message}"),
    (_p(r"not a readable image \((?P<why>.+)\)"), "不是可读取的图片（{why}）"),
    (_p(r"only (?P<kinds>.+) files"), "只接受 {kinds} 文件"),
    (_p(r"no check for (?P<what>.+)"), "无法校验 {what} 类型的文件"),
    # billing
    (
        _p(r"more than the (?P<amount>\S+) outstanding on the bill"),
        "超过该账单的未缴金额 {amount}",
    ),
    (
        _p(
            r"exceeds the (?P<amount>\S+) outstanding on the bills paid; send prepaid: true to keep the rest as "
            r"prepaid balance"
        ),
        "超过所缴账单的未缴金额 {amount}；如需将余额转为预存款，请发送 prepaid: true",
    ),
    (_p(r"more than the (?P<amount>\S+) prepaid balance"), "超过预存款余额 {amount}"),
    (_p(r"fee item (?P<id>\S+) already has a rate from (?P<date>\S+)"), "收费项目 {id} 已有自 {date} 起的费率"),
    (_p(r"a (?P<kind>\S+) fee is charged (?P<how>.+)"), "{kind}费只能{how}收取"),
    (_p(r"(?P<id>\S+) is not a bill of this unit"), "{id} 不是该房屋的账单"),
    (_p(r"(?P<id>\S+) has nothing left to pay"), "{id} 已无待缴金额"),
    (_p(r"payment (?P<id>\S+) is reversed already"), "缴费记录 {id} 已冲正"),
    (
        _p(r"payment (?P<id>\S+) holds nothing to reverse \(its money was refunded\)"),
        "缴费记录 {id} 没有可冲正的金额（款项已退还）",
    ),
    (_p(r"residents answered an unexpected unit: (?P<what>.+)"), "住户服务返回了意外的房屋：{what}"),
    # gateway
    (_p(r"at most (?P<n>\d+) days ahead"), "最多 {n} 天之后"),
    (_p(r"this API key does not cover /(?P<what>\S*)"), "该 API 密钥无权访问 /{what}"),
    (_p(r"at least (?P<n>\d+) characters"), "至少 {n} 个字符"),
    (_p(r"at most (?P<n>\d+) characters"), "最多 {n} 个字符"),
    (_p(r"API key (?P<id>\S+) not found"), "API 密钥 {id} 不存在"),
    # notifications
    (_p(r"invalid report: (?P<why>.+)"), "回执报告无效：{why}"),
    (_p(r"no message (?P<id>\S+)"), "没有短信 {id}"),
    (_p(r"not a direct-message template; known: (?P<known>.+)"), "不是单发短信模板；可用的有：{known}"),
    (_p(r"unknown variable; (?P<template>\S+) takes (?P<known>.+)"), "未知变量；模板 {template} 的变量有：{known}"),
    (_p(r"required for a (?P<scope>\S+) notice"), "发送{scope}通知时必填"),
    (_p(r"cannot look the recipients up now: (?P<why>.+)"), "暂时无法查询收件人：{why}"),
    (_p(r"unknown (?P<scope>\S+)"), "未知的{scope}"),
    (_p(r"notice (?P<id>\S+) not found"), "通知 {id} 不存在"),
    (
        _p(r"only a failed message can be resent; this one is (?P<status>\S+)"),
        "只有发送失败的短信可以重发；该短信状态为{status}",
    ),
    (_p(r"one of (?P<choices>.+)"), "必须是以下之一：{choices}"),
    (_p(r"not a valid template: (?P<why>.+)"), "不是有效的模板：{why}"),
    (_p(r"placeholder \{(?P<name>.*)\} is not a variable name"), "占位符 {{{name}}} 不是有效的变量名"),
    (
        _p(r"unknown variable \{(?P<name>.*)\}; (?P<template>\S+) knows (?P<known>.+)"),
        "未知变量 {{{name}}}；模板 {template} 的变量有：{known}",
    ),
    # residents
    (_p(r"unit (?P<id>\S+) is (?P<unit_status>\S+), not vacant"), "房屋 {id} 状态为{unit_status}，不是空置"),
    (_p(r"card (?P<id>\S+) is already active"), "门禁卡 {id} 已启用"),
    (_p(r"card (?P<id>\S+) not found"), "门禁卡 {id} 不存在"),
    (_p(r"a (?P<status>\S+) card cannot be marked (?P<to>\S+)"), "{status}状态的门禁卡不能标记为{to}"),
    (_p(r"(?P<status>\S+) into (?P<to>\S+)"), "{status}合并到{to}"),
    (_p(r"nobody lives in unit (?P<id>\S+)"), "房屋 {id} 无人居住"),
    (_p(r"must not be in the past \(today is (?P<date>\S+)\)"), "不能是过去的日期（今天是 {date}）"),
    (_p(r"this pass is valid on (?P<date>\S+) only"), "该放行条仅在 {date} 当天有效"),
    (_p(r"this pass is (?P<status>\S+)"), "该放行条{status}"),
    (
        _p(r"unit (?P<id>\S+) is (?P<unit_status>\S+); only a vacant unit is handed over"),
        "房屋 {id} 状态为{unit_status}；只有空置房屋才能交付",
    ),
    (
        _p(r"unit (?P<id>\S+) is already occupied; the current household must move out first"),
        "房屋 {id} 已有人入住，须先办理现住户迁出",
    ),
    (
        _p(r"unit (?P<id>\S+) is under renovation; move in after its acceptance"),
        "房屋 {id} 正在装修，请在装修验收后办理入住",
    ),
    (_p(r"required for scope (?P<scope>\S+)"), "范围为{scope}时必填"),
    (_p(r"the work starts on (?P<date>\S+); acceptance is possible from that day"), "{date} 开工，自当天起才可验收"),
    (_p(r"(?P<n>\d+) open violation\(s\)"), "{n} 项违规未整改"),
    (
        _p(r"a (?P<status>\S+) renovation cannot be approved; engineering reviews it first"),
        "{status}的装修申请不能批准，须先经工程部审核",
    ),
    (_p(r"a (?P<status>\S+) renovation cannot be rejected"), "{status}的装修申请不能驳回"),
    (_p(r"a (?P<status>\S+) renovation has no site to inspect"), "{status}的装修申请没有可巡查的现场"),
    (_p(r"a (?P<status>\S+) renovation is not reviewed"), "{status}的装修申请不在审核环节"),
    (_p(r"a (?P<status>\S+) renovation is not up for acceptance"), "{status}的装修申请不在验收环节"),
    (_p(r"sheet (?P<sheet>.+?): unknown column\(s\) (?P<columns>.+)"), "工作表 {sheet}：不认识的列 {columns}"),
    (_p(r"sheet (?P<sheet>.+?): missing column\(s\) (?P<columns>.+)"), "工作表 {sheet}：缺少列 {columns}"),
    (_p(r"more than (?P<n>\d+) rows"), "超过 {n} 行"),
    (_p(r"unknown tag\(s\) (?P<tags>.+)"), "不认识的标签：{tags}"),
    (_p(r"(?P<n>\d+) row error\(s\); nothing was imported"), "{n} 行有误，未导入任何数据"),
    (_p(r"building (?P<id>.+) already exists in this community"), "本小区已有楼栋 {id}"),
    (_p(r"unit (?P<id>.+) already exists in this building"), "本楼栋已有房屋 {id}"),
    (_p(r"zone (?P<id>.+) already exists in this community"), "本小区已有片区 {id}"),
    (_p(r"(?P<span>.+) is not a span such as 08:00-12:00"), "{span} 不是有效的时段，例如 08:00-12:00"),
    (
        _p(r"a (?P<status>\S+) renovation gets no permit; it is approved first"),
        "{status}的装修申请不能开具许可证，须先批准",
    ),
    (_p(r"permit (?P<id>\S+) is already issued"), "装修许可证 {id} 已开具"),
    (
        _p(r"the renovation deposit \(bill (?P<bill>\S+)\) is not paid: (?P<amount>\S+) outstanding"),
        "装修押金（账单 {bill}）未缴清：尚欠 {amount}",
    ),
    (_p(r"(?P<amount>\S+) outstanding on bill (?P<bill>\S+)"), "账单 {bill} 尚欠 {amount}"),
    (_p(r"(?P<dependency>.+) cannot be reached now; try again shortly"), "{dependency}暂时无法连接，请稍后再试"),
    (_p(r"unknown query parameter (?P<names>.+)"), "不认识的查询参数：{names}"),
    (_p(r"the year must lie between (?P<a>\d+) and (?P<b>\d+)"), "年份必须在 {a} 到 {b} 之间"),
    # tickets
    (
        _p(r"cannot (?P<action>\S+) a ticket that is (?P<status>\S+); allowed: (?P<allowed>.+)"),
        "{status}的工单不能执行“{action}”；可执行：{allowed}",
    ),
    (_p(r"residents file through (?P<channels>.+)"), "住户只能通过 {channels} 报事"),
    (_p(r"the round is (?P<status>\S+)"), "该巡检轮次{status}"),
    (_p(r"attachment (?P<id>\S+) not found"), "附件 {id} 不存在"),
]

# Plurals and compounds of VALUES_ZH the patterns above print joined by " or " / ", ".
_LIST_SPLIT = re.compile(r"(, | or )")


VALUE_GROUPS = {
    "status",
    "to",
    "action",
    "role",
    "scope",
    "kind",
    "allowed",
    "how",
    "unit_status",
    "channels",
    "verb",
    "dependency",
}


def value_zh(value: str, group: str = "status") -> str:
    """A status/role/action word (or a list of them) in Chinese; anything unknown unchanged."""
    parts = _LIST_SPLIT.split(value)
    if len(parts) > 1:
        return "".join({", ": "、", " or ": "或"}.get(part) or value_zh(part, group) for part in parts)
    if group == "unit_status":
        return UNIT_STATUS_ZH.get(value, value)
    return VALUES_ZH.get(value, value)
