"""The payment domain: pure Python, no framework, storage or crypto imports."""
