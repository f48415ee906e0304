"""The turn-speed benchmark (`make bench`, issue 16): our bot and stock Rasa under identical loads.

``python -m bot.turn_bench`` serves each bot in turn (bots_under_test), drives the loads from this process
(loads), with conversations taken from tests/stories (story_mixes), and writes reports/bench.* (reports).
"""
