"""Custom actions for the shop assistant (served by rasa-sdk's action server).

rasa-sdk imports every module here at start, so nothing in this package does I/O at import time;
shop.yml is read when an action first needs it (see ``actions.shop``).
"""
