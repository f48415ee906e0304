"""Plain services (shop profile, opening hours): no Rasa imports, injectable in tests."""
