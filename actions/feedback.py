"""Feedback from customers: CSAT when a conversation ends well, NPS after a happy CSAT, give_feedback.

One form, ``feedback_form``, whose questions depend on ``feedback_mode`` and the answers so far:
  csat: csat_score (1-5) -> csat_comment (optional) -> nps_score (0-10; only after 4-5, at most once per
        customer every 90 days) -> nps_comment ("what should we do better?", detractors only)
  give: feedback_comment -> feedback_score (1-5, optional)
Every answer is committed as it is validated, so the thanks at the end never runs ahead of the database.
"No thanks" ends the form politely; a number off the scale is asked again; the rating is never asked
twice in one conversation.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_flow import _free_text
from actions.replies import FixedQuestion, Reply
from actions.services.feedback import Context, FeedbackStore
from actions.services.questions import looks_like_question
from actions.services.ratings import nps_band, read_rating, unasked_rating
from actions.session import chat_began
from actions.shop import HandoffAware

FEEDBACK_SLOTS = ("csat_score", "csat_comment", "nps_score", "nps_comment", "feedback_comment",
                  "feedback_score")
DECLINED, NONE = "declined", "none"
OFF = "off"  # feedback_mode when no question follows
# At "anything to add?", thanks or goodbye mean "no", not a comment to store.
COMMENT_ENDINGS = ("deny", "stop", "goodbye", "thank_you")
SHORT_REPLY_WORDS = 4
# The bot answered something: a conversation that then ends with thanks or goodbye ended well.
SOLVING_ACTIONS = {"action_answer_faq", "action_finish_order_task", "action_open_ticket", "action_handoff",
                   "action_help", "action_bot_challenge", "action_handed_back"}
GAVE_UP_ACTIONS = {"action_default_fallback", "action_two_stage_fallback", "action_out_of_scope",
                   "action_default_ask_rephrase"}
# Intents that say nothing about what the customer came for.
_NOT_A_TOPIC = {"greet", "goodbye", "thank_you", "affirm", "deny", "inform", "stop", "nlu_fallback",
                "give_feedback", "out_of_scope", "bot_challenge", "help"}


def served_intent(tracker: Tracker) -> str:
    """The last thing the customer came for, as an intent (what a rating is about)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            if name and name not in _NOT_A_TOPIC:
                return name
    return ""


def ended_well(tracker: Tracker) -> bool:
    """The bot's last real answer solved something (not a fallback or "I can't help with that")."""
    for event in reversed(tracker.events):
        name = event.get("name") if event.get("event") == "action" else None
        if name in SOLVING_ACTIONS:
            return True
        if name in GAVE_UP_ACTIONS:
            return False
    return False


def score_of(answer: Any) -> Optional[int]:
    """A validated score slot as a number; None when unanswered, declined or not validated yet."""
    return int(answer) if isinstance(answer, str) and answer.isdigit() else None


MAX_RATING_TEXT = 200
NO_THANKS = {"title": "No thanks", "payload": '/inform{"choice": "no thanks"}'}


def score_buttons(low: int, high: int) -> List[Dict[str, str]]:
    scores = [{"title": str(n), "payload": "/inform" + json.dumps({"rating": str(n)})}
              for n in range(low, high + 1)]
    return [*scores, NO_THANKS]


CSAT_QUESTION = "How did I do today? Please rate this chat from 1 (poor) to 5 (great)."


class FeedbackAware(HandoffAware):
    """Where feedback is stored, and what a rating is about."""

    @property
    def feedback(self) -> FeedbackStore:
        return FeedbackStore(self.orders.engine, self._clock)

    def context(self, tracker: Tracker) -> Context:
        key = tracker.get_slot("ticket_email") or ""
        order = self.proved_order(tracker) if not key else None
        return Context(tracker.sender_id, served_intent(tracker),
                       self.handoffs.person_took_part(tracker.sender_id),
                       (key or (order.email if order else "")).lower())

    def rating_due(self, tracker: Tracker) -> bool:
        """Once per chat: a customer who comes back another day (a new chat, in the same conversation) is
        asked again about that chat."""
        return not tracker.get_slot("feedback_asked") and not self.feedback.asked(
            tracker.sender_id, "csat", since=chat_began(tracker))

    def start_rating(self) -> List[EventType]:
        """feedback_form asks for the CSAT rating next (the rules follow feedback_mode)."""
        return [*(SlotSet(slot, None) for slot in FEEDBACK_SLOTS), SlotSet("feedback_mode", "csat"),
                SlotSet("feedback_asked", True)]


class UnaskedRating(FeedbackAware):
    """A rating typed when none was asked ("five stars" after a person closed the chat, "★★★★★"): kept as
    the chat's rating and thanked for, not answered with "I'm not sure what that's for"."""

    def took_unasked_rating(self, dispatcher: CollectingDispatcher,
                            tracker: Tracker) -> Optional[List[EventType]]:
        """The events when the latest message was such a rating (stored now); None when it was not."""
        text = str(tracker.latest_message.get("text") or "")
        score = unasked_rating(text)
        if score is None:
            return None
        self.feedback.rate_chat(self.context(tracker), score, chat_began(tracker), text[:MAX_RATING_TEXT])
        slots = {"feedback_mode": "csat", "csat_score": str(score), "nps_score": None}
        Reply(_thanks(slots, "")).send(dispatcher)
        return [SlotSet("feedback_asked", True)]  # not asked for this chat's rating again


class ValidateFeedbackForm(FeedbackAware, FormValidationAction):
    def name(self) -> str:
        return "validate_feedback_form"

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[str]:
        if tracker.get_slot("feedback_mode") != "csat":  # give_feedback
            return ["feedback_comment", "feedback_score"]
        # A score slot holds a validated number, "declined", or (before validation) what was typed.
        csat = score_of(tracker.get_slot("csat_score"))
        if csat is None:
            return ["csat_score"]
        slots = ["csat_score", "csat_comment"]
        nps_answer = tracker.get_slot("nps_score")
        if nps_answer is None and (csat < 4 or not self.feedback.nps_due(self.context(tracker).customer_key)):
            return slots
        slots.append("nps_score")
        nps = score_of(nps_answer)
        if nps is not None and nps_band(nps) == "detractor":
            slots.append("nps_comment")
        return slots

    def _declines(self, tracker: Tracker, value: Any, ending: Tuple[str, ...] = ("deny", "stop", "goodbye")
                  ) -> bool:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return str(value).strip().lower() in ("no thanks", NONE) or intent in ending \
            or read_rating(str(value), 1, 5).declined

    def _no_comment(self, tracker: Tracker, text: str) -> bool:
        """ "thanks", "no", "bye" at "anything to add?"; a longer message is the comment even when it
        ends with thanks ("Mara sorted it in two minutes, thanks")."""
        return len(text.split()) <= SHORT_REPLY_WORDS and self._declines(tracker, text, COMMENT_ENDINGS)

    def _score(self, kind: str, slot: str, low: int, high: int, value: Any, dispatcher: CollectingDispatcher,
               tracker: Tracker) -> Dict[str, Any]:
        rating = read_rating(str(value or ""), low, high)
        if rating.score is None and self._declines(tracker, value):
            if kind != "feedback":
                self.feedback.record(kind, self.context(tracker), declined=True)
            return {slot: DECLINED}
        if rating.score is None:
            why = f"{rating.outside} is outside the scale" if rating.outside is not None \
                else "I didn't catch a rating there"
            dispatcher.utter_message(text=f"Sorry, {why}. Please choose a number from {low} to {high}, or "
                                          f"say no thanks.")
            return {slot: None}
        if kind == "feedback":
            self.feedback.add_score(tracker.sender_id, "feedback", rating.score)
        else:
            self.feedback.record(kind, self.context(tracker), score=rating.score)
        return {slot: str(rating.score)}

    def _comment(self, kind: str, slot: str, value: Any, tracker: Tracker) -> Dict[str, Any]:
        text = _free_text(value)
        if text is None or self._no_comment(tracker, text):
            return {slot: NONE}
        self.feedback.add_comment(tracker.sender_id, kind, text)
        return {slot: text}

    async def extract_feedback_comment(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[str, Any]:
        """"great service, 5 stars" starting give_feedback is the feedback itself, with its rating: not asked
        for again. (A request to leave feedback, "can I leave a review?", gets the questions.)"""
        text = str(tracker.latest_message.get("text") or "")
        if tracker.get_slot("feedback_mode") == "csat" or tracker.get_slot("requested_slot") \
                or tracker.get_slot("feedback_comment") or text.startswith("/"):
            return {}
        score = unasked_rating(text)
        return {} if score is None else {"feedback_comment": text, "feedback_score": str(score)}

    def validate_csat_score(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[str, Any]:
        return self._score("csat", "csat_score", 1, 5, value, dispatcher, tracker)

    def validate_nps_score(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[str, Any]:
        return self._score("nps", "nps_score", 0, 10, value, dispatcher, tracker)

    def validate_feedback_score(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[str, Any]:
        return self._score("feedback", "feedback_score", 1, 5, value, dispatcher, tracker)

    def validate_csat_comment(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[str, Any]:
        answer = self._comment("csat", "csat_comment", value, tracker)
        if (tracker.latest_message.get("intent") or {}).get("name") == "stop":
            answer["nps_score"] = DECLINED  # "never mind": no more questions after this one
        return answer

    def validate_nps_comment(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[str, Any]:
        return self._comment("nps", "nps_comment", value, tracker)

    def validate_feedback_comment(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[str, Any]:
        text = _free_text(value)
        if text is None or self._no_comment(tracker, text):
            return {"feedback_comment": DECLINED, "feedback_score": NONE}  # nothing to say after all
        self.feedback.record("feedback", self.context(tracker), comment=text)
        return {"feedback_comment": text}


class AskCsatScore(FixedQuestion):
    action = "action_ask_csat_score"
    text = CSAT_QUESTION
    buttons = score_buttons(1, 5)


class AskCsatComment(FixedQuestion):
    action = "action_ask_csat_comment"
    text = "Thank you! Is there anything you'd like to add? Type it here, or say no thanks."
    buttons = (NO_THANKS,)


class AskNpsScore(HandoffAware, Action):
    def name(self) -> str:
        return "action_ask_nps_score"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        dispatcher.utter_message(
            text=f"One more, if you have a second: how likely are you to recommend {self.shop.name} to a "
                 f"friend, from 0 (not at all) to 10 (extremely likely)?", buttons=score_buttons(0, 10))
        return []


class AskNpsComment(FixedQuestion):
    action = "action_ask_nps_comment"
    text = "Thank you for being honest. What should we do better?"


class AskFeedbackComment(FixedQuestion):
    action = "action_ask_feedback_comment"
    text = "I'd love to hear it. What would you like to tell us? The owner reads every message."


class AskFeedbackScore(FixedQuestion):
    action = "action_ask_feedback_score"
    text = "Thank you! Would you like to add a rating from 1 (poor) to 5 (great)?"
    buttons = score_buttons(1, 5)


def _thanks(slots: Dict[str, Optional[str]], review_url: str) -> str:
    if slots["feedback_mode"] != "csat":
        return "Thank you, I've passed it on to the owner." if slots["feedback_comment"] != DECLINED \
            else "No problem. If you think of something later, just tell me."
    csat, nps = score_of(slots["csat_score"]), score_of(slots["nps_score"])
    if csat is None:
        return "No problem. Thanks for chatting with us!"
    if nps is not None:
        band = nps_band(nps)
        if band == "promoter":
            review = f" If you have a minute, a review helps a small shop like ours a lot: {review_url}" \
                if review_url else ""
            return f"Thank you, that means a lot to us!{review}"
        if band == "detractor":
            return "Thank you for telling us; the owner reads every comment, and we'll work on it."
        return "Thank you for your answers!"
    if csat <= 2:
        return "Thank you for telling us. I'm sorry we didn't do better; the owner reads every rating."
    return "Thank you for the rating!"


class ActionFeedbackDone(FeedbackAware, Action):
    """The answers are stored already; say thanks (promoters get the review link) and clear the form."""

    def name(self) -> str:
        return "action_feedback_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        slots = {slot: tracker.get_slot(slot) for slot in (*FEEDBACK_SLOTS, "feedback_mode")}
        Reply(_thanks(slots, self.shop.review_url)).send(dispatcher)
        return [*(SlotSet(slot, None) for slot in FEEDBACK_SLOTS), SlotSet("feedback_mode", OFF)]


COMMENT_SLOTS = {"csat_comment": "csat", "nps_comment": "nps"}


class ActionLeaveFeedback(FeedbackAware, Action):
    """A question or a request instead of an answer: leave the feedback form (not asked again), and the
    rules answer it. Words that tell us something at "anything to add?" are kept as the comment first."""

    def name(self) -> str:
        return "action_leave_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        kind = COMMENT_SLOTS.get(tracker.get_slot("requested_slot") or "")
        text = _free_text(tracker.latest_message.get("text"))
        if kind and text and not looks_like_question(text):
            self.feedback.add_comment(tracker.sender_id, kind, text)
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *(SlotSet(slot, None) for slot in FEEDBACK_SLOTS), SlotSet("feedback_mode", OFF)]
