"""The public page of a community (居务公开), rendered on the server from the same view as
its JSON feed: one page, no script, in Chinese with English beside it, readable on a
phone. Its stylesheet and skeleton are in ``public/``.

Every value from the view reaches the page through ``_text`` (HTML-escaped) or a
number formatter, never as markup, and the content security policy lets nothing run:
a proposal titled ``<script>`` is shown as those characters.
"""

from html import escape
from pathlib import Path
from string import Template
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.grid.disclosure import BUDGET_LINES

FILES = Path(__file__).resolve().parent / "public"
PAGE = Template((FILES / "page.html").read_text(encoding="utf-8"))
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    # Anyone may read it and it changes as events arrive: a minute's staleness spares
    # the service a crowd refreshing the page.
    "Cache-Control": "public, max-age=60",
}

STATES = {"under_review": "党组织审议中 Under review",
          "awaiting_vote": "待居民代表会议表决 Awaiting the assembly's vote",
          "on_notice": "公示中 On public notice",
          "adopted": "已通过 Adopted", "rejected": "未通过 Rejected"}
MOTIONS = {"adopt": "通过议案 to adopt", "reject": "否决议案 to reject"}
PROPOSED = {"adopted": "拟通过 to be adopted", "rejected": "拟不通过 to be rejected"}
OUTCOMES = {"adopted": "通过 adopted", "rejected": "不通过 rejected",
            "returned_to_review": "异议成立，退回重审 objections upheld, back to review"}
STAGES = {"hold": "预留 hold", "capture": "结算 settlement"}


def page(view):
    content = "\n".join((_header(view), _rates(view["rates"]), _proposals(view["proposals"]),
                         _notices(view["notices"]), _received(view["received"]),
                         _grids(view["grids"]), _footer(view)))
    html = PAGE.substitute(title=_text(f"{view['name']} 居务公开"), content=content)
    return Response(html, mimetype="text/html", headers=HEADERS)


def stylesheet():
    return Response((FILES / "page.css").read_bytes(), mimetype="text/css",
                    headers={**HEADERS, "Cache-Control": "public, max-age=3600"})


def _text(value):
    return escape("" if value is None else str(value), quote=True)


def _label(labels, code):
    return _text(labels.get(code, code))


def _percent(rate):
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _yuan(fen):
    return f"¥{fen / 100:,.2f}"


def _h2(chinese, english):
    return f'<h2>{chinese} <span class="en">{english}</span></h2>'


def _header(view):
    return (f"<header><h1>{_text(view['name'])} 居务公开</h1>"
            f'<p class="muted">Public disclosure · {_text(view["months"]["first"])} – '
            f'{_text(view["months"]["last"])} · 更新于 as of {_text(view["as_of"])}</p></header>')


def _rates(rates):
    month = rates["month"]
    cards = "".join(
        f'<div class="card">{chinese} <span class="en">{english}</span>'
        f"<strong>{_percent(month[key])}</strong>"
        f'<span class="muted">{month[part]} / {month[whole]}</span></div>'
        for chinese, english, key, part, whole in (
            ("响应率", "Response", "response_rate", "acknowledged_on_time", "dispatched"),
            ("解决率", "Resolution", "resolution_rate", "resolved", "dispatched"),
            ("满意率", "Satisfaction", "satisfaction_rate", "satisfied", "rated")))
    rows = "".join(
        f"<tr><td>{_text(m['period'])}</td><td class=n>{m['dispatched']}</td>"
        f"<td class=n>{_percent(m['response_rate'])}</td>"
        f"<td class=n>{_percent(m['resolution_rate'])}</td>"
        f"<td class=n>{_percent(m['satisfaction_rate'])}</td></tr>"
        for m in reversed(rates["trend"]))
    return (_h2("三率", "The three rates") +
            f'<p class="muted">本月 This month ({_text(month["period"])})</p>'
            f'<div class="cards">{cards}</div>'
            '<h3>近12个月 The last 12 months</h3><div class="scroll"><table><thead><tr>'
            "<th>月份 Month</th><th class=n>派单 Orders</th><th class=n>响应率</th>"
            "<th class=n>解决率</th><th class=n>满意率</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _proposals(proposals):
    if not proposals:
        return _h2("居民议案", "Residents' proposals") + '<p class="muted">暂无 None yet.</p>'
    items = "".join(
        f"<li><h3>{_text(p['title'])}</h3>"
        f'<span class="state">{_label(STATES, p["state"])}</span> '
        f'<span class="muted">提交 submitted {_text(p["submitted_on"])}</span>'
        + "".join(_vote(v) for v in p["votes"])
        + (f'<p class="muted">公示期异议 Objections during notice: {p["objections"]}</p>'
           if p["objections"] else "")
        + "</li>" for p in proposals)
    return _h2("居民议案", "Residents' proposals") + f'<ul class="items">{items}</ul>'


def _vote(vote):
    result = ("未达法定人数 not quorate" if not vote["quorate"]
              else "通过 carried" if vote["carried"] else "未通过 failed")
    return (f"<p>{_text(vote['on'])} 表决 vote on the motion {_label(MOTIONS, vote['motion'])}: "
            f"{result} — 赞成 for {vote['in_favour']}, 反对 against {vote['against']}, "
            f"弃权 abstaining {vote['abstaining']}; 到会 present {vote['present']} / "
            f"{vote['members']}</p>")


def _notices(notices):
    if not notices:
        return _h2("公告", "Notices") + '<p class="muted">暂无 None.</p>'
    return _h2("公告", "Notices") + '<ul class="items">' + "".join(
        f'<li><span class="muted">{_text(n["on"])}</span> {_notice(n)}</li>'
        for n in notices) + "</ul>"


def _notice(notice):
    if notice["kind"] == "funding_blocked":
        return (f"经费受阻 Funding blocked ({_label(STAGES, notice['stage'])}): "
                f"{_text(notice['category'])} — {_label(BUDGET_LINES, notice['budget_line'])}, "
                f"{_text(notice['department_id'])}, {_yuan(notice['amount_fen'])}")
    heading, outcomes = (("表决结果公示 Result on public notice", PROPOSED)
                         if notice["kind"] == "proposal_on_notice"
                         else ("公示期满 Notice concluded", OUTCOMES))
    return f"{heading}: 《{_text(notice['title'])}》 {_label(outcomes, notice['outcome'])}"


def _received(received):
    lines = "".join(f"<tr><td>{_label(BUDGET_LINES, line['budget_line'])}</td>"
                    f"<td class=n>{_yuan(line['amount_fen'])}</td></tr>"
                    for line in received["by_line"])
    months = "".join(
        f"<tr><td>{_text(m['month'])}</td><td class=n>{_yuan(m['amount_fen'])}</td><td>"
        + "; ".join(f"{_label(BUDGET_LINES, line['budget_line'])} {_yuan(line['amount_fen'])}"
                    for line in m["lines"]) + "</td></tr>"
        for m in reversed(received["by_month"]))
    orders = "".join(
        f"<tr><td>{_text(o['on'])}</td><td>{_text(o['category'])}</td>"
        f"<td>{_label(BUDGET_LINES, o['budget_line'])}</td><td>{_text(o['department_id'])}</td>"
        f"<td class=n>{_yuan(o['amount_fen'])}</td></tr>" for o in received["orders"])
    return (_h2("费随事转", "Funds that followed the task") +
            f"<p>合计 Total received: <strong>{_yuan(received['total_fen'])}</strong></p>"
            '<h3>按预算科目 By budget line</h3><div class="scroll"><table><tbody>'
            f"{lines}</tbody></table></div>"
            '<h3>按月 By month</h3><div class="scroll"><table><thead><tr><th>月份 Month</th>'
            f"<th class=n>金额 Amount</th><th>科目 Lines</th></tr></thead><tbody>{months}"
            '</tbody></table></div><h3>每笔结算 Each settled order</h3><div class="scroll">'
            "<table><thead><tr><th>日期 Date</th><th>类别 Category</th><th>科目 Line</th>"
            "<th>部门 Department</th><th class=n>金额 Amount</th></tr></thead>"
            f"<tbody>{orders}</tbody></table></div>")


def _grids(grids):
    return (_h2("网格", "Grids") + '<p>' +
            "、".join(_text(g["name"]) for g in grids) + "</p>")


def _footer(view):
    return ('<footer class="muted"><p>本页不含任何个人信息：不显示姓名、电话、地址或具体位置。'
            "This page shows no personal data: no names, phone numbers, addresses or exact "
            "places.</p>"
            f'<p><a href="{_text(quote(view["id"]))}.json">JSON</a></p></footer>')
