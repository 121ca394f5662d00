"""The analyst's own book: holdings and their valuation, portfolio risk, the re-entry watch
for sold names and the double-down check. Pure: no store, no Streamlit."""

from engine.book.holdings import BookError

__all__ = ["BookError"]
