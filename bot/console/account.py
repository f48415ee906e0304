"""The signed-in person's own account: changing the password, which signs out every other session."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.services.owners import AccountError, WrongPassword
from bot.console.access import console_of, csrf_ok, csrf_token, forbidden, signed_in_account, to_sign_in
from bot.console.auth import COOKIE
from bot.console.forwarded import client_address
from bot.console.pages import esc, page

MAX_PASSWORD_CHARS = 1000  # scrypt hashes whatever it is given; a megabyte of password is only a cost


def password_page(owner_name: str, csrf: str, problem: str = "", done: str = "") -> str:
    notice = (f'<p class="error" role="alert">{esc(problem)}</p>' if problem
              else f'<p class="note" role="status">{esc(done)}</p>' if done else "")
    return page(
        "Your password",
        f"""<h1>Change your password</h1>{notice}
<p class=note>Every other place you are signed in is signed out; this one stays.</p>
<form method="post" action="/console/password">
<input type="hidden" name="csrf" value="{esc(csrf)}">
<label for="current">Current password</label><input id="current" name="current" type="password"
 autocomplete="current-password" required>
<label for="new">New password (at least 12 characters)</label><input id="new" name="new" type="password"
 autocomplete="new-password" minlength="12" required>
<label for="again">New password again</label><input id="again" name="again" type="password"
 autocomplete="new-password" minlength="12" required>
<p><button type="submit">Change password</button></p></form>""",
        owner_name,
        csrf,
    )


def add_account_routes(console: Blueprint) -> None:
    @console.get("/password")
    async def password_form(request: Request) -> HTTPResponse:
        owner = signed_in_account(request)
        if owner is None:
            return to_sign_in()
        return response.html(password_page(owner.name, csrf_token(request)))

    @console.post("/password")
    async def change_password(request: Request) -> HTTPResponse:
        owner = signed_in_account(request)
        if owner is None:
            return to_sign_in()
        if not csrf_ok(request):
            return forbidden()
        form = request.form or {}
        current, new = form.get("current") or "", form.get("new") or ""
        state = console_of(request)

        def refused(problem: str) -> HTTPResponse:
            return response.html(password_page(owner.name, csrf_token(request), problem), status=400)

        if new != (form.get("again") or ""):
            return refused("The two new passwords differ; the password was not changed.")
        if len(new) > MAX_PASSWORD_CHARS or len(current) > MAX_PASSWORD_CHARS:
            return refused(f"A password has at most {MAX_PASSWORD_CHARS} characters.")
        address = client_address(request)
        # A stolen session must not guess the password; the counts are database rows, read off the loop.
        wait = await asyncio.to_thread(state.limiter.wait, owner.email, address)
        if wait:
            return response.html(password_page(owner.name, csrf_token(request), wait.message), status=429,
                                 headers={"Retry-After": str(wait.seconds)})
        try:
            await asyncio.to_thread(state.accounts.change_password, owner.id, current, new)
        except WrongPassword as error:
            await asyncio.to_thread(state.limiter.failed, owner.email, address)
            return refused(str(error))
        except AccountError as error:
            return refused(str(error))
        ended = await asyncio.to_thread(state.sessions.close_others, owner.id, request.cookies.get(COOKIE))
        return response.html(password_page(
            owner.name, csrf_token(request),
            done=f"Your password is changed. Signed out elsewhere: {ended} "
                 f"session{'' if ended == 1 else 's'}."))
