"""The owner console: sign-in and the pages the shop's owner works in."""
