"""The trainer's whole loop, in the browser against real servers: a customer's question the bot refused shows
up in Missed messages, the trainer adds it as an example, reads the conversation, trains a new model from
the console, compares it with the active one and activates it while customers keep writing (none of them
sees an error), the next answer comes from the new model, in the widget too, and a rollback restores the old
one.

Training uses the real pipeline with fewer epochs (a copy of config.yml) so the test takes minutes, not ten.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from actions.services.figures import events
from actions.services.owners import OwnerAccounts
from tests.bot.conftest import SHOTS
from tests.bot.servers import ROOT, running_servers

PASSWORD = "correct horse battery staple"
QUESTION = "cuanto cuesta el envio"  # a customer writing in Spanish: the model has no such example


def fast_training(workdir: Path) -> dict:
    data = workdir / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", data)
    config = (ROOT / "config.yml").read_text().replace("epochs: 100", "epochs: 15")
    config = config.replace("epochs: 40", "epochs: 1")
    (workdir / "fast.yml").write_text(config)
    nlu_dev = workdir / "nlu-dev"  # our own few lines in nlu-dev's format: the comparison shows its rows
    nlu_dev.mkdir()
    (nlu_dev / "bitext_dev.csv").write_text("text,accepted_intents,source_intent\n"
                                            "how much does delivery cost,shipping_options,delivery_options\n"
                                            "when do you open,opening_hours,opening_hours\n")
    (nlu_dev / "out_of_scope_dev.csv").write_text("text,source_domain\nwhat is the capital of peru,travel\n")
    return {"TRAINING_CONFIG": str(workdir / "fast.yml"), "TRAINING_DATA_DIR": str(data),
            "MODELS_DIR": str(workdir / "models"), "TRAINING_LOG_DIR": str(workdir / "training"),
            "NLU_DEV_DIR": str(nlu_dev), "MODEL_CHECK_SECONDS": "1"}


def say(base_url: str, sender: str, text: str) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{base_url}/webhooks/rest/webhook", body,
                                     {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status == 200
        return json.loads(reply.read())


class Customers:
    """A few customers writing one message after another while the model switches."""

    def __init__(self, base_url: str, count: int = 3) -> None:
        self.base_url, self.answers, self.errors = base_url, 0, []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(count)]

    def _write(self, number: int) -> None:
        questions = ["what are your opening hours", "how much is shipping", "do you take paypal"]
        turn = 0
        while not self.stopped.is_set():
            turn += 1
            try:
                if say(self.base_url, f"load-{number}", questions[turn % len(questions)]):
                    self.answers += 1
                else:
                    self.errors.append("an empty answer")
            except Exception as error:  # noqa: BLE001 (any failure a customer would see is the finding)
                self.errors.append(repr(error))

    def __enter__(self) -> "Customers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=90)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"not within {seconds} s: {what}")


def answering(servers) -> int:
    """The model the web process says answers now (its log's last switch), 1 before any."""
    switches = re.findall(r"Model (\d+) \(\w+\) answers now", servers.log("web"))
    return int(switches[-1]) if switches else 1


def last_message(engine, sender: str) -> dict:
    with engine.connect() as connection:
        data = connection.execute(select(events.c.data).where(events.c.sender_id == sender,
                                                              events.c.type_name == "user")
                                  .order_by(events.c.id.desc()).limit(1)).scalar()
    return json.loads(data)


def test_a_trainer_closes_the_loop_in_the_console(tmp_path, browser):
    settings = fast_training(tmp_path)
    with running_servers(tmp_path, settings) as servers:
        OwnerAccounts(servers.engine).add("tess@example.com", "Tess", PASSWORD, ("trainer",))
        say(servers.base_url, "maria", QUESTION)
        before = last_message(servers.engine, "maria")
        assert before["parse_data"]["intent"]["name"] != "shipping_options"
        page = browser.new_page()
        page.goto(f"{servers.base_url}/console/login")
        page.fill("#email", "tess@example.com")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/missed")

        # Missed messages: the refused question, labelled from its group's form.
        group = page.locator("section.missed-group", has_text=QUESTION)
        assert "refused as out of scope" in group.inner_text()
        group.locator("input[name=intent]").fill("shipping_options")
        group.locator("text=Add as examples").click()
        assert "Added 1 example of shipping_options" in page.inner_text("main")
        assert f"    - {QUESTION}\n" in (Path(settings["TRAINING_DATA_DIR"]) / "shipping.yml").read_text()

        # Conversations: the same customer's chat, turn by turn, with the model that answered.
        page.goto(f"{servers.base_url}/console/conversations?q=cuanto")
        page.click(f"text={QUESTION}")
        turn = page.locator("li.turn", has_text=QUESTION).inner_text()
        assert before["parse_data"]["intent"]["name"] in turn
        assert f"Model {before['metadata']['model_id'][:12]}" in turn
        page.click("text=Mark as reviewed")
        assert "Reviewed by tess@example.com" in page.inner_text("main")

        # Models: train (the page follows the job), compare, activate while customers write.
        page.goto(f"{servers.base_url}/console/models")
        page.click("text=Train a new model")
        wait_for(lambda: any(word in page.inner_text("#job-status") for word in ("Done", "Failed")), 900,
                 "the training job to end")
        page.screenshot(path=str(SHOTS / "trainer-models-trained.png"), full_page=True)
        assert "Done" in page.inner_text("#job-status"), page.inner_text("main")
        page.click("text=Compare model 2 with the active one")
        new_id = page.locator("code").nth(1).inner_text()  # the comparison page's Rasa id of model 2
        comparison = page.inner_text("main")
        for measure in ("heldout: accuracy", "nlu-dev bitext_dev: right, not refused",
                        "nlu-dev out_of_scope_dev: refused", "conversation tests passed"):
            assert measure in comparison
        page.screenshot(path=str(SHOTS / "trainer-model-comparison.png"), full_page=True)
        with Customers(servers.base_url) as customers:
            time.sleep(2)
            page.click("text=Activate model 2")
            assert "Activated model 2" in page.inner_text("main")
            wait_for(lambda: answering(servers) == 2, 180, "the web process to switch to model 2")
            time.sleep(3)
        assert customers.errors == [] and customers.answers > 10

        # The next answer comes from the new model, which learnt the trainer's example.
        say(servers.base_url, "maria", QUESTION)
        after = last_message(servers.engine, "maria")
        assert after["metadata"]["model_id"] == new_id != before["metadata"]["model_id"]
        assert after["parse_data"]["intent"]["name"] == "shipping_options"

        # In the widget, a customer typing the once-missed wording now gets the shipping answer.
        customer = browser.new_page()
        customer.goto(f"{servers.base_url}/")
        customer.get_by_role("button", name="Open chat").click()
        chat = customer.get_by_role("log")
        expect(chat).to_contain_text("welcome to Kettle & Crumb")
        box = customer.get_by_label("Type your message")
        box.fill(QUESTION)
        box.press("Enter")
        expect(chat).to_contain_text("Royal Mail")
        customer.screenshot(path=str(SHOTS / "trainer-loop-widget-answer.png"))

        # And back: the rollback restores the model that answered before.
        page.goto(f"{servers.base_url}/console/models")
        page.click("text=Roll back to the model before")
        assert "Rolled back to model 1" in page.inner_text("main")
        wait_for(lambda: answering(servers) == 1, 180, "the web process to switch back to model 1")
        say(servers.base_url, "maria", "thanks")
        assert last_message(servers.engine, "maria")["metadata"]["model_id"] == before["metadata"]["model_id"]
        log = servers.log("web")
        assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
