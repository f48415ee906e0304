"""One conversation turn by turn for the trainer: what the model made of each message, what the bot did,
the trainer's marks, and the form that saves the conversation, corrected, as a conversation test.

Every value from outside goes through ``esc``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence
from zoneinfo import ZoneInfo

from bot.console.pages import esc, page, stored_local
from bot.console.review_pages import conversation_url
from bot.trainer.conversation_reviews import Flag, Review
from bot.trainer.conversation_turns import Turn
from bot.trainer.story_checks import StoryCheck


def _value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _turn(turn: Turn, flag: Optional[Flag], url: str, zone: ZoneInfo, csrf: str) -> str:
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
    if turn.event_id is None:
        said = '<p class="note">Before the first message</p>'
    else:
        runner = (f" · runner-up {esc(turn.runner_up[0])} {turn.runner_up[1]:.2f}" if turn.runner_up else "")
        entities = ", ".join(f"{esc(e)}={esc(v)}" for e, v in turn.entities)
        said = (f'<p class="customer">{"Tapped: " if turn.tapped else ""}{esc(turn.text)}</p>'
                f'<p class="understood">{esc(turn.intent)} {turn.confidence:.2f}{runner}'
                + (f" · entities {entities}" if entities else "") + "</p>")
    steps = ", ".join(f"{esc(s.action)} ({esc(s.policy.replace('policy_', '').split('_')[-1])} "
                      f"{s.confidence:.2f})" for s in turn.steps)
    replies = "".join(f'<li>{esc(reply)}</li>' for reply in turn.replies)
    slots = ", ".join(f"{esc(name)}={esc(_value(value))}" for name, value in turn.slots)
    details = ((f'<p class="steps">Actions: {steps}</p>' if steps else "")
               + (f'<ul class="bot-said">{replies}</ul>' if replies else "")
               + (f'<p class="slots">Slots: {slots}</p>' if slots else "")
               + (f'<p class="note">Model {esc(turn.model_id[:12])}</p>' if turn.model_id else ""))
    flagged = ""
    if turn.event_id is not None and flag is not None:
        flagged = (f'<p class="flag" role="note">Flagged by {esc(flag.flagged_by)}: '
                   f'{esc(flag.note or "(no note)")}</p>'
                   f'<form class="inline" method="post" action="{esc(url)}/unflag">{hidden}'
                   f'<input type="hidden" name="event" value="{turn.event_id}">'
                   '<button class="secondary" type="submit">Remove the flag</button></form>')
    elif turn.event_id is not None:
        flagged = (f'<details><summary>Flag this turn</summary><form method="post" action="{esc(url)}/flag">'
                   f'{hidden}<input type="hidden" name="event" value="{turn.event_id}">'
                   f'<label for="note-{turn.event_id}">Note</label>'
                   f'<input id="note-{turn.event_id}" name="note" maxlength="500">'
                   '<button type="submit">Flag</button></form></details>')
    anchor = f' id="turn-{turn.event_id}"' if turn.event_id is not None else ""
    css = "turn flagged" if flag is not None else "turn"
    return (f'<li class="{css}"{anchor}><p class="time">{esc(stored_local(turn.at, zone))}</p>{said}{details}'
            f"{flagged}</li>")


def _options(choices: Sequence[str], chosen: str) -> str:
    return "".join(f'<option value="{esc(c)}"{" selected" if c == chosen else ""}>{esc(c)}</option>'
                   for c in choices)


def _check_html(check: Optional[StoryCheck]) -> str:
    if check is None:
        return ""
    if check.state == "running":
        return ('<p id="test-status" role="status">Checking the conversation test against the model that '
                "answers (about a minute); this page refreshes.</p>")
    if check.state == "saved":
        return f'<p id="test-status" role="status">Saved as a conversation test: {esc(check.detail)}.</p>'
    return ('<div class="error" id="test-status" role="alert"><p>Not saved as a test: the model does not '
            f'pass it, or it could not be written.</p><pre class="log">{esc(check.detail)}</pre></div>')


def _test_form(turns: List[Turn], url: str, csrf: str, intents: Sequence[str], actions: Sequence[str],
               check: Optional[StoryCheck]) -> str:
    """Each customer message with its intent and each of the bot's actions, to correct before saving."""
    rows = []
    for turn in turns:
        if turn.event_id is None:
            continue
        steps = "".join(f'<label for="action-{s.event_id}">then</label>'
                        f'<select id="action-{s.event_id}" name="action-{s.event_id}">'
                        f"{_options(actions, s.action)}</select>" for s in turn.steps)
        rows.append(f'<li><label for="intent-{turn.event_id}">{esc(turn.text)}</label>'
                    f'<select id="intent-{turn.event_id}" name="intent-{turn.event_id}">'
                    f"{_options(intents, turn.intent)}</select>{steps}</li>")
    running = check is not None and check.state == "running"
    return (f"<h2>Conversation test</h2>{_check_html(check)}"
            "<details><summary>Correct the wrong turns and save as a conversation test</summary>"
            "<p class=note>Pick the right intent of each message and the action the bot should have taken; "
            "the test is kept under tests/stories only if the model that answers passes it.</p>"
            f'<form method="post" action="{esc(url)}/test"><input type="hidden" name="csrf" '
            f'value="{esc(csrf)}"><ol class="corrections">{"".join(rows)}</ol>'
            f'<button type="submit"{" disabled" if running else ""}>Save as a conversation test</button>'
            "</form></details>")


def conversation_page(conversation_id: str, turns: List[Turn], review: Review, flags: Dict[int, Flag],
                      zone: ZoneInfo, name: str, csrf: str, problem: str = "", intents: Sequence[str] = (),
                      actions: Sequence[str] = (), check: Optional[StoryCheck] = None) -> str:
    url = conversation_url(conversation_id)
    hidden = f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
    state = (f"Reviewed by {esc(review.reviewed_by)} on {esc(stored_local(review.reviewed_at, zone))}."
             if review.reviewed else "Not reviewed yet.")
    toggle = ("no", "Mark as not reviewed") if review.reviewed else ("yes", "Mark as reviewed")
    error = f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""
    channels = sorted({t.channel for t in turns if t.channel})
    flagged = f"{len(flags)} flagged turn{'s' if len(flags) != 1 else ''}"
    body = (
        f"<h1>Conversation</h1>{error}<p class=note>{esc(conversation_id)} · "
        f"{esc(', '.join(channels) or 'no channel')} · {flagged}</p>"
        f'<p role="status">{state}</p>'
        f'<form class="inline" method="post" action="{esc(url)}/reviewed">{hidden}'
        f'<button type="submit" name="reviewed" value="{toggle[0]}">{toggle[1]}</button></form>'
        f'<form method="post" action="{esc(url)}/tags">{hidden}<label for="tags">Tags (comma-separated)'
        f'</label><input id="tags" name="tags" maxlength="500" value="{esc(", ".join(review.tags))}">'
        '<button class="secondary" type="submit">Save tags</button></form>'
        f'<ol class="turns">{"".join(_turn(t, flags.get(t.event_id or -1), url, zone, csrf) for t in turns)}'
        "</ol>" + _test_form(turns, url, csrf, intents, actions, check)
        + '<p><a href="/console/conversations">All conversations</a></p>')
    running = check is not None and check.state == "running"
    return page("Conversation", body, name, csrf, refresh=5 if running else 0)
