"""Plain-Python domain: vocabularies, validation rules, status machines, access policy."""
