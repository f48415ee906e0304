"""Input channels for the web server. Unlike Rasa's own, they refuse bad input with a clear error
before it reaches the model or the tracker, and never hide a failure behind a 200."""
