"""The pages and files the web server serves itself: the demo shop page, the widget, /health."""
