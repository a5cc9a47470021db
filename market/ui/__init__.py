"""Pieces the pages of several blueprints share: form helpers, request forms shown on public
pages, the demand page, term-sheet change logs and match highlighting. No routes here; the
blueprints import from ui/, never from one another.
"""
