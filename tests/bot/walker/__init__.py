"""The conversation walker (issue 12): drives the real servers through every question the bot can ask
and answers each one in every way a customer might (tests/bot/test_walker.py runs it)."""
