"""The end of a chat: thanks, goodbye, a bare "no", and the bot taking the chat back from a person.

When the bot solved something in the conversation (``ended_well``), the end is when the rating is asked,
once (the questions themselves are feedback_form's, in feedback.py).
"""
from __future__ import annotations

import abc
from typing import Any, Dict, List, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.feedback import OFF, FeedbackAware, UnaskedRating, ended_well
from actions.replies import answered_inside_a_flow
from actions.services.handback import pending_question


class EndOfChat(UnaskedRating, Action, metaclass=abc.ABCMeta):
    """Thanks or goodbye: answer, and when the bot solved something, ask once for a rating; a rating given
    with the thanks ("thanks! 5 stars") is kept, not asked for again."""

    @abc.abstractmethod
    def words(self) -> Tuple[str, str]:
        """What to say: before a rating question, and when there is none."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        before_rating, alone = self.words()
        rated = self.took_unasked_rating(dispatcher, tracker)
        if rated is not None:
            return [*rated, SlotSet("feedback_mode", OFF)]
        if ended_well(tracker) and self.rating_due(tracker):
            dispatcher.utter_message(text=before_rating)
            return self.start_rating()
        dispatcher.utter_message(text=alone)
        return [SlotSet("feedback_mode", OFF)]


class ActionThankYou(EndOfChat):
    def name(self) -> str:
        return "action_thank_you"

    def words(self) -> Tuple[str, str]:
        return "You're welcome!", "You're welcome! Is there anything else I can help you with?"


class ActionGoodbye(EndOfChat):
    def name(self) -> str:
        return "action_goodbye"

    def words(self) -> Tuple[str, str]:
        return f"Thanks for stopping by {self.shop.name}!", \
            f"Thanks for stopping by {self.shop.name}. Have a lovely day!"


class ActionNoMore(EndOfChat):
    """A bare "no" (to "anything else?", say): the customer is done; when the bot solved something, the
    rating comes now, at the end."""

    def name(self) -> str:
        return "action_no_more"

    def words(self) -> Tuple[str, str]:
        return "Alright, glad I could help.", "Alright. If you think of anything, just type it here."

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        if answered_inside_a_flow(tracker, dispatcher):  # not the end of the chat, and no rating now
            return [SlotSet("feedback_mode", OFF)]  # the same events as before: the flow's rule goes on
        return await super().run(dispatcher, tracker, domain)


def said_in(tracker: Tracker) -> List[Tuple[str, str]]:
    """Messages as ("user" | "bot", text), without notices ("Mara left the chat" answers nothing)."""
    return [(e["event"], e.get("text") or "") for e in tracker.events
            if e.get("event") == "user"
            or (e.get("event") == "bot" and not (e.get("metadata") or {}).get("notice"))]


class ActionHandedBack(FeedbackAware, Action):
    """Run by the console when a person hands the conversation back. A question the customer typed while
    the person had the chat is answered next (the console passes it to the bot again); otherwise the bot
    asks "anything else?". The rating comes at the end of the chat (thanks, goodbye or "no"), not now."""

    def name(self) -> str:
        return "action_handed_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        if pending_question(said_in(tracker)):
            dispatcher.utter_message(text="I'm back. Let me answer what you asked while you were waiting.")
        else:
            dispatcher.utter_message(text="I'm back. Is there anything else I can help you with?",
                                     buttons=[{"title": "No, that's all", "payload": "/deny"}])
        return [SlotSet("feedback_mode", OFF)]
