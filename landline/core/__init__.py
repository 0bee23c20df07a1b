"""Pure rules of the texting service: no I/O, no imports from the rest of landline."""
