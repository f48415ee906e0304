"""The owner's figures page: the range form, the key figures, charts each followed by its numbers, the
customer figures with their definitions and the retention trend, the table by day, week or month, top
intents, thumbs-down answers and comments. Every value from the database goes through ``esc`` (comments and
rated answers are customer and bot text)."""
from __future__ import annotations

from typing import List, Optional, Sequence
from urllib.parse import urlencode

from actions.services.channel_figures import CHANNELS, ChannelFigures
from actions.services.customers.retention import CustomerFigures
from actions.services.figures import BY, CSAT_SCORES, NPS_SCORES, Comment, FigureRange, Figures
from bot.console.charts import AMBER, GREEN, GREY, RED, Series, bar_chart
from bot.console.pages import esc, page
from bot.figures_report import (
    CHANNEL_COLUMNS,
    RETENTION_COLUMNS,
    average,
    channel_label,
    channel_row,
    customer_lines,
    intent_name,
    nps_score,
    percent,
    period_label,
    plural,
    retention_row,
    rounded,
    series_row,
    summary_lines,
)

MOST_COMMENTS = 200  # on the page; the CSV has all of them
DEFINITIONS = (
    ("Conversation", "a chat in which the customer wrote or pressed something in the range, counted on the "
                     "day of its first such message (opening the widget alone is not one)."),
    ("Solved by the bot alone", "conversations never handed to a person (containment); the rest were "
                                "handed to a person (handoff rate)."),
    ("Not understood", "customer messages the bot's fallback caught, of all the customer messages the bot "
                       "read (messages to a person who had the chat are not counted)."),
    ("First response", "from the handoff to a person taking the chat or answering the ticket by email, "
                       "for handoffs started in the range; resolution: to resolved or handed back."),
    ("CSAT", "the average of the 1–5 ratings; a customer who said no thanks is counted as declined, not "
             "as a rating."),
    ("NPS", "promoters (9–10) minus detractors (0–6), as a share of all 0–10 answers: from −100 to +100."),
)


def query(figure_range: FigureRange, channel: Optional[str] = None, **extra: str) -> str:
    return urlencode({"from": figure_range.start.isoformat(), "to": figure_range.end.isoformat(),
                      "by": figure_range.by, **({"channel": channel} if channel else {}), **extra})


def _range_form(figure_range: FigureRange, channel: Optional[str] = None) -> str:
    options = "".join(f'<option value="{b}"{" selected" if b == figure_range.by else ""}>{b}</option>'
                      for b in BY)
    channels = '<option value="">All channels</option>' + "".join(
        f'<option value="{c}"{" selected" if c == channel else ""}>{esc(channel_label(c))}</option>'
        for c in CHANNELS)
    field = '<div style="flex:0 1 12em">'
    return (f'<form method="get" action="/console/figures" aria-label="Range" '
            f'style="display:flex;flex-wrap:wrap;gap:4px 16px;align-items:flex-end">'
            f'{field}<label for="from">From</label><input id="from" name="from" type="date" required '
            f'value="{figure_range.start.isoformat()}"></div>{field}<label for="to">To (included)</label>'
            f'<input id="to" name="to" type="date" required value="{figure_range.end.isoformat()}"></div>'
            f'<div><label for="by">Per</label><select id="by" name="by">{options}</select></div>'
            f'<div><label for="channel">Channel</label><select id="channel" name="channel">{channels}'
            f"</select></div>"
            f'<div><button type="submit">Show</button></div></form>'
            f'<p><a href="/console/figures/feedback.csv?{esc(query(figure_range, channel))}">Download the '
            f"ratings and comments (CSV)</a></p>")


def _head(header: Sequence[str]) -> str:
    return "<tr>" + "".join(f'<th scope="col">{esc(h)}</th>' for h in header) + "</tr>"


def _row(label: str, cells: Sequence[str], cell: str = "<td>{}</td>") -> str:
    return (f'<tr><th scope="row" style="white-space:nowrap">{esc(label)}</th>'
            + "".join(cell.format(esc(c)) for c in cells) + "</tr>")


def _numbers(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A chart's numbers as a table, folded away under the chart."""
    head = _head(header)
    body = "".join(_row(row[0], row[1:]) for row in rows)
    return (f"<details><summary>The numbers</summary><table><caption class=sr-only>{esc(caption)}</caption>"
            f"<thead>{head}</thead><tbody>{body}</tbody></table></details>")


def short_labels(figures: Figures) -> List[str]:
    """Under a chart's bars: '5 Jun' for a day or for the week that starts then, 'Jun' for a month (the
    table has the rest)."""
    if figures.range.by == "month":
        return [f"{p.start:%b}" for p in figures.series]
    return [f"{p.start.day} {p.start:%b}" for p in figures.series]


def _axis(figures: Figures) -> str:
    return {"day": "day", "week": "week, by its first day in the range"}.get(figures.range.by, "month")


def _conversations_chart(figures: Figures, labels: List[str]) -> str:
    by, total = figures.range.by, figures.total
    title = f"Conversations per {by}"
    chart = bar_chart(
        "conversations", title,
        f"{plural(total.conversations, 'conversation')} in all, {total.contained} solved by the bot alone "
        f"({percent(total.containment_rate)}), {total.handed_off} handed to a person",
        short_labels(figures),
        [Series("Solved by the bot alone", GREEN, [p.contained for p in figures.series]),
         Series("Handed to a person", AMBER, [p.handed_off for p in figures.series], striped=True)],
        _axis(figures), "conversations")
    rows = [[label, str(p.conversations), str(p.contained), str(p.handed_off), percent(p.containment_rate)]
            for label, p in zip(labels, figures.series, strict=True)]
    return (f"<h2>{esc(title)}</h2>{chart}"
            + _numbers(title, (by, "Conversations", "Solved by the bot alone", "Handed to a person",
                               "Containment"), rows))


def _csat_charts(figures: Figures, labels: List[str]) -> str:
    by, csat = figures.range.by, figures.total.csat
    title = f"Average CSAT per {by} (1 to 5)"
    averages: List[Optional[float]] = [p.csat.average for p in figures.series]
    chart = bar_chart("csat-average", title, f"{average(csat)} over the range from "
                      f"{plural(csat.count, 'rating')}", short_labels(figures),
                      [Series("Average CSAT", GREEN, averages)], _axis(figures), "average rating",
                      value_text=lambda v: str(rounded(v, 1)), y_max=5)
    rows = [[label, str(p.csat.count), average(p.csat), str(p.csat.declined)]
            for label, p in zip(labels, figures.series, strict=True)]
    html = (f"<h2>{esc(title)}</h2>{chart}"
            + _numbers(title, (by, "Ratings", "Average", "Declined"), rows))
    title = "CSAT ratings, 1 to 5"
    counts = [csat.distribution[s] for s in CSAT_SCORES]
    chart = bar_chart("csat-distribution", title,
                      ", ".join(f"{n} × {s}" for s, n in zip(CSAT_SCORES, counts, strict=True)),
                      [f"{s} of 5" for s in CSAT_SCORES], [Series("Ratings", GREEN, counts)], "rating",
                      "ratings")
    return html + (f"<h2>{esc(title)}</h2>{chart}"
                   + _numbers(title, ("Rating", "Answers"), [[str(s), str(n)] for s, n in
                                                               zip(CSAT_SCORES, counts, strict=True)]))


def _nps_chart(figures: Figures) -> str:
    nps = figures.total.nps
    title = "NPS answers, 0 to 10"

    def band(low: int, high: int) -> List[Optional[float]]:
        return [nps.distribution[s] if low <= s <= high else 0 for s in NPS_SCORES]

    chart = bar_chart(
        "nps", title,
        f"NPS {nps_score(nps)}: {plural(nps.promoters, 'promoter')}, {plural(nps.passives, 'passive')}, "
        f"{plural(nps.detractors, 'detractor')}",
        [str(s) for s in NPS_SCORES],
        [Series("Detractors (0–6)", RED, band(0, 6)), Series("Passives (7–8)", GREY, band(7, 8)),
         Series("Promoters (9–10)", GREEN, band(9, 10))],
        "how likely to recommend us, 0 to 10", "answers")
    rows = [[str(s), str(nps.distribution[s]), "promoter" if s >= 9 else "passive" if s >= 7 else "detractor"]
            for s in NPS_SCORES]
    return (f"<h2>{esc(title)}</h2><p>NPS <strong>{esc(nps_score(nps))}</strong>: "
            f"{plural(nps.promoters, 'promoter')}, {plural(nps.passives, 'passive')}, "
            f"{plural(nps.detractors, 'detractor')} ({nps.declined} declined).</p>{chart}"
            + _numbers(title, ("Score", "Answers", "Band"), rows))


def _customers(customers: CustomerFigures) -> str:
    """The customer figures, each with its definition beside it, then the retention trend."""
    rows = "".join(f'<tr><th scope="row">{esc(what)}</th><td>{esc(figure)}</td>'
                   f'<td class="note">{esc(definition)}</td></tr>' for what, figure, definition in
                   customer_lines(customers))
    head = _head(("Figure", "Value", "How it is counted"))
    html = f'<h2>Customers</h2><table class="customers"><thead>{head}</thead><tbody>{rows}</tbody></table>'

    retention = customers.retention
    by, steps = retention.by, retention.steps
    title = f"Customer retention, {by} to {by}"
    if not steps:
        return html + f"<h3>{esc(title)}</h3><p>The range has no next {esc(by)} to come back in.</p>"
    overall = retention.overall
    chart = bar_chart(
        "retention", title,
        f"{percent(overall.rate)} of {plural(overall.whole, 'customer')} ordered again the next {by}",
        [f"{s.start.day} {s.start:%b}" if by == "week" else f"{s.start:%b}" for s in steps],
        [Series("Ordered again the next " + by, GREEN,
                [None if s.rate is None else s.rate * 100 for s in steps])],
        f"{by} of the first order", "% who ordered again", value_text=lambda v: f"{rounded(v)}%", y_max=100)
    table = _numbers(title, (by.title(), *(c.title() for c in RETENTION_COLUMNS)),
                     [retention_row(s, by) for s in steps])
    return html + f"<h3>{esc(title)}</h3>{chart}{table}"


def _by_channel(figures: Figures, channels: ChannelFigures) -> str:
    """The range by channel, each a link to the figures of that channel alone; the definition beside it."""
    def row(cells: List[str], channel: str) -> str:
        link = f'<a href="/console/figures?{esc(query(figures.range, channel))}">{esc(cells[0])}</a>'
        current = ' aria-current="true"' if channel == channels.channel else ""
        return (f'<tr{current}><th scope="row">{link}</th>'
                + "".join(f"<td>{esc(c)}</td>" for c in cells[1:]) + "</tr>")

    body = "".join(row(channel_row(line), line.channel) for line in channels.lines)
    head = _head(tuple(c[0].upper() + c[1:] for c in CHANNEL_COLUMNS))
    return (f'<h2>By channel</h2><table class="channels"><thead>{head}</thead><tbody>{body}</tbody></table>'
            f'<p class="note">{esc(channels.definition)}</p>')


SERIES_HEADER = ("Conversations", "Solved by the bot", "Handed to a person", "Containment",
                 "Customer messages", "Not understood", "Fallback rate", "Handoffs",
                 "First response (median)", "Resolution (median)", "CSAT", "NPS")


def _series_table(figures: Figures, labels: List[str]) -> str:
    head = _head((figures.range.by.title(), *SERIES_HEADER))
    rows = "".join(_row(label, series_row(p)) for label, p in zip(labels, figures.series, strict=True))
    total = _row("All", series_row(figures.total), "<td><strong>{}</strong></td>")
    return (f"<h2>All figures by {esc(figures.range.by)}</h2><div style=\"overflow-x:auto\"><table "
            f'class="series"><thead>{head}</thead><tbody>{rows}{total}</tbody></table></div>')


def _top_intents(figures: Figures) -> str:
    messages = figures.total.messages
    rows = "".join(_row(intent_name(i), (str(n), percent(n / messages))) for i, n in figures.top_intents[:15])
    table = (f'<table><thead>{_head(("Intent", "Messages", "Share"))}</thead><tbody>{rows}</tbody></table>'
             if rows else "<p>No customer messages.</p>")
    return f"<h2>Top intents</h2>{table}"


def _thumbs(figures: Figures) -> str:
    total = figures.total
    items = "".join(
        f'<li><strong>{esc(intent_name(g.intent))}</strong>: {plural(g.count, "thumb")} down'
        + "".join(f"<br>{n} × <q>{esc(text) or '(no text)'}</q>" for text, n in g.answers)
        + "</li>" for g in figures.thumbs_down)
    return (f"<h2>Answers rated thumbs down</h2><p>{total.thumbs_up} up, {total.thumbs_down} down.</p>"
            + (f'<ul class="notes">{items}</ul>' if items else "<p>No thumbs down in this range.</p>"))


def _comment(comment: Comment) -> str:
    marks = []
    if comment.detractor:
        marks.append('<strong class="error">Detractor</strong>')
    elif comment.unhappy:
        marks.append('<strong class="error">Unhappy</strong>')
    if comment.with_person:
        marks.append("a person took part")
    score = "" if comment.score is None else f" {comment.score}"
    border = ' style="border-left:4px solid #a3260f"' if comment.detractor or comment.unhappy else ""
    about = f" · {esc(intent_name(comment.intent))}" if comment.intent else ""
    return (f'<li{border}><span class="who">{esc(comment.kind.upper())}{esc(score)}</span> '
            f'<span class="time">{esc(f"{comment.at:%a} {comment.at.day} {comment.at:%b %H:%M}")}{about} · '
            f"{esc(comment.conversation_id)}</span>{''.join(' · ' + m for m in marks)}"
            f'<div style="white-space:pre-wrap">{esc(comment.text)}</div></li>')


def _comments(figures: Figures) -> str:
    shown = figures.comments[:MOST_COMMENTS]
    more = len(figures.comments) - len(shown)
    note = f"<p class=note>{more} older ones are in the CSV.</p>" if more else ""
    items = "".join(_comment(c) for c in shown)
    return (f"<h2>Comments, newest first ({len(figures.comments)})</h2>"
            + (f'<ul class="notes">{items}</ul>{note}' if items else "<p>No comments in this range.</p>"))


def figures_page(figures: Figures, owner_name: str, csrf: str, customers: Optional[CustomerFigures] = None,
                 channels: Optional[ChannelFigures] = None) -> str:
    """``channels``: the table by channel, and which channel ``figures`` are of (None: all)."""
    r = figures.range
    channel = channels.channel if channels else None
    only = (f'<p class="note" role="status"><strong>{esc(channel_label(channel))} conversations only.'
            f'</strong> <a href="/console/figures?{esc(query(r))}">Every channel</a></p>' if channel else "")
    labels = [period_label(p, r.by) for p in figures.series]
    key = "".join(_row(what, [figure]) for what, figure in summary_lines(figures))
    definitions = "".join(f'<dt style="font-weight:600">{esc(term)}</dt><dd>{esc(meaning)}</dd>'
                          for term, meaning in DEFINITIONS)
    body = (
        f"<h1>Figures</h1><p class=note>{esc(f'{r.start:%a} {r.start.day} {r.start:%b %Y}')} to "
        f"{esc(f'{r.end:%a} {r.end.day} {r.end:%b %Y}')}, by {esc(r.by)}, in the shop's time "
        f"({esc(figures.zone.key)}); counted from what is stored now.</p>{only}"
        f"{_range_form(r, channel)}<h2>At a glance</h2><table class=key-figures><tbody>{key}</tbody></table>"
        f"{_by_channel(figures, channels) if channels is not None else ''}"
        f"{_conversations_chart(figures, labels)}{_csat_charts(figures, labels)}{_nps_chart(figures)}"
        f"{_customers(customers) if customers is not None else ''}"
        f"{_series_table(figures, labels)}{_top_intents(figures)}{_thumbs(figures)}{_comments(figures)}"
        f"<h2>How the figures are counted</h2><dl>{definitions}</dl>"
    )
    return page("Figures", body, owner_name, csrf)

