"""Portal -> Article: fetching, parsing, extraction and Vietnamese text handling.

Pure code except :mod:`feeds.fetch`. Never imports ``storage`` or ``bot``.
"""
