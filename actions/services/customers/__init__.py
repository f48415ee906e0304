"""Customers as people (issue 18): who proved an email or phone in a chat, what we hold about them, their
figures, and their data in their hands (export and deletion across every store)."""
