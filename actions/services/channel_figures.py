"""The owner's figures split by channel (issue 19): the website and each messaging channel.

A conversation's channel is its row in ``channel_conversations`` (WhatsApp, Messenger, Instagram,
Telegram); a conversation without one is the website's. Each channel's figures are counted exactly as the
whole range's are (``figures.py``, from the same rows read once), only over that channel's conversations,
so the channels add up to the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from actions.services.channels.conversations import LABELS, WEBSITE, ChannelConversations
from actions.services.figures import FigureRange, FigureRows, Figures, Period, figures_of, read_figure_rows

CHANNELS = (WEBSITE, "whatsapp", "messenger", "instagram", "telegram")  # the order of the table
DEFINITION = (
    "Each conversation counted under the channel the customer wrote on: WhatsApp, Messenger, "
    "Instagram or Telegram, else the website's chat; handed to a person, solved by the bot alone, "
    "CSAT and NPS as above, over that channel's conversations and ratings. The website is always "
    "listed; another channel only when it had a conversation in the range."
)


class ChannelError(ValueError):
    """A channel the figures do not know; the message names the ones they do."""


def parse_channel(text: Optional[str]) -> Optional[str]:
    """``?channel=whatsapp`` (or ``--channel``): one of CHANNELS; unset or empty: every channel."""
    chosen = (text or "").strip().lower()
    if not chosen:
        return None
    if chosen not in CHANNELS:
        raise ChannelError(f"channel: {text!r} must be one of {', '.join(CHANNELS)}")
    return chosen


@dataclass(frozen=True)
class ChannelLine:
    channel: str
    total: Period  # the range's figures of this channel's conversations

    @property
    def label(self) -> str:
        return LABELS[self.channel]


@dataclass(frozen=True)
class ChannelFigures:
    figures: Figures  # of the chosen channel, or of all
    channel: Optional[str]  # None: every channel
    lines: Tuple[ChannelLine, ...]  # every channel with a conversation in the range, the website always
    keep: Callable[[str], bool]  # whether a conversation is the chosen channel's (always, when none is)
    definition: str = DEFINITION


def on_channel(channels: Dict[str, str], channel: Optional[str]) -> Callable[[str], bool]:
    """Whether a conversation is on ``channel`` (``channels``: every messaging channel's conversations)."""
    if channel is None:
        return lambda _: True
    return lambda conversation_id: channels.get(conversation_id, WEBSITE) == channel


def split(rows: FigureRows, channels: Dict[str, str]) -> Tuple[ChannelLine, ...]:
    lines = (ChannelLine(c, figures_of(rows, on_channel(channels, c)).total) for c in CHANNELS)
    return tuple(line for line in lines if line.channel == WEBSITE or line.total.conversations)


def collect_channel_figures(
    engine: Engine, zone: ZoneInfo, figure_range: FigureRange, channel: Optional[str] = None
) -> ChannelFigures:
    """The range's figures (of one channel when asked) and the table by channel, read from the database."""
    channels = ChannelConversations(engine).all_channels()
    rows = read_figure_rows(engine, zone, figure_range)
    keep = on_channel(channels, channel)
    return ChannelFigures(figures_of(rows, keep), channel, split(rows, channels), keep)
