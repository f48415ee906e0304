"""The order flows' form: which questions a task needs, verification, starting and leaving a flow.

One form (``order_form``) serves every order task; the task is the intent that started it (kept in
the ``order_task`` slot). It first needs the order number and the email or phone on that order and
checks them against the orders (OrderService); only then does it ask the task's own questions. On
WhatsApp the customer's number, which WhatsApp has verified, proves the phone on an order: the email or
phone is not asked when it matches (a number that does not match is no failed check; the question comes).
Failed checks are counted in the database per conversation; after three the lookup is locked. They are
also counted per order number, per client address and overall (OrderCheckLimits): past those limits no
check is made, whatever was typed, and the customer is offered a person.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.replies import MAIN_TOPICS, Reply
from actions.services.channels.conversations import ChannelConversations
from actions.services.customers.memory import first_name
from actions.services.email_address import parse_email
from actions.services.order_check_limits import CLIENT_KEY, CLIENT_KEY_LENGTH, OrderCheckLimits
from actions.services.order_rules import Order, can_cancel, can_change, can_return
from actions.services.orders import MAX_VERIFICATION_FAILURES
from actions.services.shop_profile import ShopProfile
from actions.shop import OrderAware

ORDER_TASKS = ("order_status", "cancel_order", "change_order", "change_shipping_address", "return_item",
               "request_refund", "refund_status", "damaged_item", "wrong_item", "missing_item")
PROBLEM_TASKS = ("damaged_item", "wrong_item", "missing_item")
TASK_WORDS = {"order_status": "order lookup", "cancel_order": "cancellation", "change_order": "change",
              "change_shipping_address": "address change", "return_item": "return",
              "request_refund": "refund", "refund_status": "refund lookup", "damaged_item": "report",
              "wrong_item": "report", "missing_item": "report"}
TASK_SLOTS = ("order_confirmed", "order_details", "order_reason", "order_remedy", "order_photo")
NOT_FOUND = ("I couldn't find order {number} with that email address or phone number. Please check them and "
             "type the email or phone on the order again, or a different order number ({left} more {tries} "
             "before I have to stop looking up orders here).")
LOCKED = ("That still doesn't match an order, so I've stopped looking up orders in this conversation: "
          "it keeps everyone's orders safe.")
LIMITED = "I can't check order details right now. A person can check it for you: {contact}"
_CLIENT_KEY = re.compile(rf"[0-9a-f]{{{CLIENT_KEY_LENGTH}}}")
logger = logging.getLogger(__name__)


def client_key(tracker: Tracker) -> str:
    """The keyed hash of the customer's address the channel put in the message's metadata, or ""."""
    key = (tracker.latest_message.get("metadata") or {}).get(CLIENT_KEY)
    return key if isinstance(key, str) and _CLIENT_KEY.fullmatch(key) else ""


def checks_refused(limits: OrderCheckLimits, tracker: Tracker) -> Optional[str]:
    """Which limit stops checking the order number in the slots ("order", "client", "global"), or None."""
    number = tracker.get_slot("order_id")
    return limits.reached(str(number), client_key(tracker)) if number else None


def task_slots(task: str, order: Order, shop: ShopProfile, now: Any) -> List[str]:
    """The questions a task still needs once the order is verified; none when the rules say no."""
    if task == "cancel_order":
        return ["order_confirmed"] if can_cancel(order, shop).allowed else []
    if task in ("change_order", "change_shipping_address"):
        return ["order_details", "order_confirmed"] if can_change(order).allowed else []
    if task in ("return_item", "request_refund"):
        return ["order_details", "order_reason"] if can_return(order, shop, now).allowed else []
    if task in PROBLEM_TASKS:
        return ["order_details", "order_reason", "order_remedy"]
    return []  # order_status, refund_status: nothing more to ask


def _clear_task() -> List[EventType]:
    return [SlotSet(slot, None) for slot in ("order_task", *TASK_SLOTS)]


class ActionStartOrderTask(Action):
    """Remembers which task the customer asked for and forgets the previous task's answers."""

    def name(self) -> str:
        return "action_start_order_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        task = intent if intent in ORDER_TASKS else "order_status"  # a bare order number: look it up
        return [*_clear_task(), SlotSet("order_task", task)]


class ActionStopOrderTask(Action):
    """"Never mind": leave the order or complaint flow, keep the verification, offer the main topics."""

    def name(self) -> str:
        return "action_stop_order_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        Reply.with_topics("No problem, I've left it there and changed nothing. Anything else I can help "
                          "with?", MAIN_TOPICS).send(dispatcher)
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_clear_task(),
                SlotSet("complaint_text", None), SlotSet("complaint_order", None)]


class ValidateOrderForm(OrderAware, FormValidationAction):
    def name(self) -> str:
        return "validate_order_form"

    def _locked(self, tracker: Tracker) -> bool:
        return bool(tracker.get_slot("verification_locked")) or self.orders.is_locked(tracker.sender_id)

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[str]:
        if self._locked(tracker) or not_pursued(tracker):
            return []
        verified = tracker.get_slot("verified_order")
        if not verified or verified != tracker.get_slot("order_id"):
            limit = checks_refused(self.check_limits, tracker)
            if limit:  # the form ends here; action_finish_order_task tells the customer and offers a person
                logger.warning("order check refused in %s: the %s limit of failed checks is reached "
                               "(order %s)", tracker.sender_id, limit, tracker.get_slot("order_id"))
                return []
            return ["order_id", "order_contact"]
        order = self.proved_order(tracker)
        if order is None:  # deleted since, or a slot nobody proved: ask again
            return ["order_id", "order_contact"]
        task = tracker.get_slot("order_task") or "order_status"
        return ["order_id", "order_contact", *task_slots(task, order, self.shop, self.now())]

    async def extract_order_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[str, Any]:
        """Asked "Shall I cancel order KC-10001?", "yes please cancel it" reads as a cancel request, not a
        yes (0.96): the cancel request again, with no other order number, is the customer's yes. Only for
        a cancellation: "change it to 3 mugs" repeats a change request with new details, not a yes."""
        asked = tracker.get_slot("requested_slot") == "order_confirmed"
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not asked or tracker.get_slot("order_task") != "cancel_order" or intent != "cancel_order":
            return {}
        numbers = {e.get("value") for e in tracker.latest_message.get("entities") or []
                   if e.get("entity") == "order_id"}
        if numbers - {tracker.get_slot("order_id")}:
            return {}  # another order: switched_task leaves this one
        return {"order_confirmed": True}

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        """Words the model could not place ("asdf qwer", "👍🙂") while a question is open are an answer that
        did not fit: the question's validator says so and the form asks again, instead of the form being
        left to the "Did you mean" fallback."""
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        unsure = (tracker.latest_message.get("intent") or {}).get("name") == "nlu_fallback"
        if requested and unsure and requested not in tracker.slots_to_validate() \
                and not any(e.get("name") == requested for e in events):
            events.append(SlotSet(requested, None))
        return events

    async def extract_order_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        """An order number anywhere in the answer ("it's 10003 I think"); when there is none, say so
        instead of asking the same question again without a word."""
        message = tracker.latest_message
        text = message.get("text") or ""
        if tracker.get_slot("requested_slot") != "order_id" or text.startswith("/") \
                or any(e.get("entity") == "order_id" for e in message.get("entities") or []):
            return {}
        number = self.shop.order_number.find(text)
        bare = re.search(rf"(?<![\d.])#?(\d{{{self.shop.order_number.digits}}})(?![\d.])", text)
        if number is None and bare is not None:  # asked for the order number, "10003" or "#10003" is one
            number = f"{self.shop.order_number.prefix.upper()}{bare.group(1)}"
        if number:
            return {"order_id": number}
        gave_contact = any(e.get("entity") in ("email", "phone") for e in message.get("entities") or [])
        if (message.get("intent") or {}).get("name") in ("inform", "nlu_fallback") and not gave_contact:
            dispatcher.utter_message(text=f"I couldn't see an order number in that; they look like "
                                          f"{self.shop.order_number.example}.")
            # An answer that did not fit, so the form asks again: with no slot set Rasa rejects the form,
            # drops this message and gives up ("I still can't work out what you need" to "000123456").
            return {"order_id": None}
        return {}

    async def extract_order_contact(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[str, Any]:
        """An answer to "the email or phone on that order?" with neither in it ("jo baker at example dot
        com") is a wrong answer: validate_order_contact says what is needed and the form asks again.
        Without a slot set Rasa rejected the form and gave up with "I still can't work out what you need"."""
        message = tracker.latest_message
        text = message.get("text") or ""
        entities = {e.get("entity") for e in message.get("entities") or []}
        if tracker.get_slot("requested_slot") != "order_contact" or text.startswith("/") \
                or (message.get("intent") or {}).get("name") != "inform" \
                or entities & {"email", "phone", "order_id"} \
                or "order_contact" in tracker.slots_to_validate():
            return {}
        if parse_email(text) or len(re.sub(r"\D", "", text)) >= 9:
            return {}  # the domain's mappings take what is there
        return {"order_contact": None}

    def validate_order_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[str, Any]:
        number = self.shop.order_number.normalise(str(value)) if value else None
        if number is None and value:  # no value at all: extract_order_id has said what was missing
            dispatcher.utter_message(text=f"That doesn't look like one of our order numbers: they look like "
                                          f"{self.shop.order_number.example}.")
        return {"order_id": number}

    def validate_order_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        text = str(value or "").strip()
        if parse_email(text) or len(re.sub(r"\D", "", text)) >= 9:
            return {"order_contact": text}
        dispatcher.utter_message(text="Please give the email address or phone number you used for the order.")
        return {"order_contact": None}

    def validate_order_confirmed(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[str, Any]:
        return {"order_confirmed": value if isinstance(value, bool) else None}

    def validate_order_details(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[str, Any]:
        if only_a_photo(tracker):  # kept (order_photo); the question comes again, thanking for it
            return {"order_details": None}
        text = _in_words(value, dispatcher)
        unsure = model_could_not_place(tracker)
        if text and unsure and len(text.split()) <= 3 and not re.search(r"\d", text):
            # "asdf qwer": nothing the team could act on, and not worth saying back for confirmation
            dispatcher.utter_message(text="Sorry, I didn't understand that. Please tell me the item and what "
                                          "should change.")
            return {"order_details": None}
        address = tracker.get_slot("order_task") == "change_shipping_address"
        if text and address and not re.search(r"\d", text):
            # Every address we deliver to has a house number or a postcode; "asdf qwer" has neither.
            dispatcher.utter_message(text="That doesn't look like a full address. Please type it with the "
                                          "house number and the postcode.")
            return {"order_details": None}
        return {"order_details": text}

    def validate_order_reason(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[str, Any]:
        if only_a_photo(tracker):
            return {"order_reason": None}
        return {"order_reason": _in_words(value, dispatcher)}

    def validate_order_remedy(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[str, Any]:
        if only_a_photo(tracker):
            return {"order_remedy": None}
        remedy = remedy_from_text(str(value or ""), self.shop)
        if remedy is None:
            dispatcher.utter_message(text="Sorry, which would you prefer? Please choose one of the options.")
        return {"order_remedy": remedy}

    def proved_by_whatsapp(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           number: str) -> List[EventType]:
        """On WhatsApp, the order found when the customer's WhatsApp number is the phone on it (WhatsApp
        verified that number when the customer signed up; anyone could type it). [] otherwise: then the
        email or phone is asked, and nothing counts as a failed check."""
        if tracker.get_latest_input_channel() != "whatsapp":
            return []
        conversation = ChannelConversations(self.orders.engine).of(tracker.sender_id)
        if conversation is None or conversation.channel != "whatsapp" or not conversation.address.isdigit():
            return []
        order = self.orders.verify(number, f"+{conversation.address}", tracker.sender_id)
        if order is None:
            return []
        dispatcher.utter_message(text=f"{_thanks(order)}, I've found order {number}: your WhatsApp number is "
                                      "the one on it.")
        return [SlotSet("order_contact", f"+{conversation.address}"), SlotSet("verified_order", number)]

    def switched_task(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """A new order request replaces the task in progress (its slots are forgotten, nothing changed)."""
        intent = tracker.latest_message.get("intent") or {}
        asked, sure = intent.get("name"), float(intent.get("confidence") or 0.0) >= SWITCH_CONFIDENCE
        task = tracker.slots.get("order_task")
        if asked not in ORDER_TASKS or not task or asked == task or not sure:
            return []
        if (tracker.slots.get("requested_slot") == "order_remedy"
                and remedy_from_text(str(tracker.latest_message.get("text") or ""), self.shop)):
            return []  # "I'd like a refund please" to "What would you prefer?" answers it
        if task not in ("order_status", "refund_status"):
            dispatcher.utter_message(text=f"OK, I've left the {TASK_WORDS.get(task, 'request')}; nothing was "
                                          "changed.")
        forgotten = {"order_task": asked, **{slot: None for slot in TASK_SLOTS}}
        tracker.slots.update(forgotten)  # not as events: the validators must not judge these as answers
        return [SlotSet(slot, value) for slot, value in forgotten.items()]

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        """After the slots are validated, check order number + contact once, against the orders.

        Another order request in the middle of a task ("where is my order KC-10501?" while "Shall I cancel
        it?" waits) replaces the task: its order number fills a slot, so the form goes on, and the old
        question must not be asked again; a "yes" after it would answer a question the customer left."""
        switched = self.switched_task(dispatcher, tracker)
        events = [*switched, *await super().get_validation_events(dispatcher, tracker, domain)]
        number, contact = tracker.slots.get("order_id"), tracker.slots.get("order_contact")
        if number and not contact and not self._locked(tracker) and not checks_refused(self.check_limits,
                                                                                        tracker):
            proved = self.proved_by_whatsapp(dispatcher, tracker, number)
            if proved:
                return [*events, *proved]
        if not number or not contact or (tracker.slots.get("verified_order") == number
                                         and self.orders.verified_order(tracker.sender_id, number)):
            return events
        if self._locked(tracker):
            return [*events, SlotSet("verification_locked", True)]
        if checks_refused(self.check_limits, tracker):  # not checked at all: the right email is refused too
            return [*events, SlotSet("order_contact", None), SlotSet("verified_order", None)]
        order = self.orders.verify(number, contact, tracker.sender_id)
        if order is not None:
            dispatcher.utter_message(text=f"{_thanks(order)}, I've found order {number}.")
            return [*events, SlotSet("verified_order", number)]
        if tracker.slots.get("verified_order") and not contact_given_now(tracker):
            # Another order than the one proved, checked with that order's contact: not a failed attempt,
            # the customer just hasn't given this order's email or phone yet.
            return [*events, SlotSet("order_contact", None), SlotSet("verified_order", None)]
        self.check_limits.record_failure(tracker.sender_id, number, client_key(tracker))
        failures = self.orders.record_failure(tracker.sender_id)
        if failures >= MAX_VERIFICATION_FAILURES:
            dispatcher.utter_message(text=LOCKED)
            return [*events, SlotSet("order_id", None), SlotSet("order_contact", None),
                    SlotSet("verified_order", None), SlotSet("verification_locked", True)]
        left = MAX_VERIFICATION_FAILURES - failures
        dispatcher.utter_message(text=NOT_FOUND.format(number=number, left=left,
                                                       tries="try" if left == 1 else "tries"))
        # The number is kept: an email or phone typed next is checked against it; a new number replaces it.
        return [*events, SlotSet("order_contact", None), SlotSet("verified_order", None)]


def _thanks(order: Order) -> str:
    name = first_name(order.customer_name)
    return f"Thank you, {name}" if name else "Thank you"


def contact_given_now(tracker: Tracker) -> bool:
    """Whether the latest message gave an email or phone for the order: typed at the question, or found in
    the message. A form that starts again offers the contact kept from an earlier order among the slots
    to check ("what about KC-10001" after KC-10003 was proved): that one was not given now."""
    if "order_contact" not in tracker.slots_to_validate():
        return False
    if tracker.get_slot("requested_slot") == "order_contact":
        return True
    entities = tracker.latest_message.get("entities") or []
    return any(entity.get("entity") in ("email", "phone") for entity in entities)


def model_could_not_place(tracker: Tracker) -> bool:
    """The NLU could not place the latest words: unsure (the fallback), or far from everything we handle
    ("asdf qwer" is answered as out of scope since issue 14's distance check)."""
    return (tracker.latest_message.get("intent") or {}).get("name") in ("nlu_fallback", "out_of_scope")


# A new order request replaces the task in progress only when the model is this sure of it: "a tea strainer
# came instead", typed where the wrong item is described, reads a little like damaged_item (0.39).
SWITCH_CONFIDENCE = 0.6


# The order number was asked this often, and the customer answered with other questions each time: they
# were not after an order (a return *policy* question taken for a return), so the flow is left.
ASKS_BEFORE_LEAVING = 2


def not_pursued(tracker: Tracker) -> bool:
    """No order number yet, it was asked ASKS_BEFORE_LEAVING times since the task began, and the latest
    message is about something else (no number in it)."""
    if tracker.get_slot("order_id") or any(e.get("entity") == "order_id"
                                           for e in tracker.latest_message.get("entities") or []):
        return False
    asks = 0
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_start_order_task":
            break
        if event.get("event") == "action" and event.get("name") == "action_ask_order_id":
            asks += 1
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return asks >= ASKS_BEFORE_LEAVING and intent not in ("inform", *ORDER_TASKS)


def only_a_photo(tracker: Tracker) -> bool:
    """The message is a photo (the widget's paperclip, a WhatsApp or Telegram photo): it answers no question
    by itself, so no question complains about it."""
    return any(e.get("entity") == "photo" for e in tracker.latest_message.get("entities") or [])


def _free_text(value: Any) -> Optional[str]:
    text = " ".join(str(value or "").split())
    return text[:500] if text and not text.startswith("/") else None


def _in_words(value: Any, dispatcher: CollectingDispatcher) -> Optional[str]:
    """An answer the team can act on: some words, not only emoji or punctuation ("👍🙂", "??")."""
    text = _free_text(value)
    if text is not None and re.search(r"\w\w", text):
        return text
    dispatcher.utter_message(text="Could you tell me in a few words? The team will read exactly what you "
                                  "write.")
    return None


def remedy_from_text(text: str, shop: ShopProfile) -> Optional[str]:
    """replacement / refund (as offered by the shop) / person, from a button or typed words."""
    words = text.lower()
    if re.search(r"\b(person|human|someone|somebody|staff|team)\b", words):
        return "person"
    for remedy, pattern in (("replacement", r"replac|new one|another one|send (it|one) again|resend"),
                            ("refund", r"refund|money back|reimburs")):
        if remedy in shop.problem_remedies and re.search(pattern, words):
            return remedy
    return None
