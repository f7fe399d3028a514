"""Leads: a located site made into evidence a partner authority acts on, on the record (issue #18, contract 9)."""
