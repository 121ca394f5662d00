"""Universe reference data: sectors, market indices, factor ETFs.

Kept apart from any provider: sizing reads sectors and the features read the market-context
tickers whatever source the prices came from.
"""

from __future__ import annotations

# GICS sectors of the sample stocks, for the sizer's sector limits. A ticker not listed
# here is its own sector (so the limit never lumps unknown names together).
SECTORS = {
    "AAPL": "Information Technology",
    "AMD": "Information Technology",
    "MSFT": "Information Technology",
    "BAC": "Financials",
    "JPM": "Financials",
    "BBY": "Consumer Discretionary",
    "HD": "Consumer Discretionary",
    "CVX": "Energy",
    "XOM": "Energy",
    "RRC": "Energy",
    "GE": "Industrials",
    "JNJ": "Health Care",
    "LLY": "Health Care",
    "MRK": "Health Care",
    "PFE": "Health Care",
    "UNH": "Health Care",
    "KO": "Consumer Staples",
    "PEP": "Consumer Staples",
    "PG": "Consumer Staples",
    "WMT": "Consumer Staples",
    "WIKI-AAPL": "Information Technology",
    "WIKI-IBM": "Information Technology",
    "WIKI-MSFT": "Information Technology",
    "WIKI-GOOG": "Communication Services",
    "WIKI-FB": "Communication Services",
}

INDEX_TICKER = "^GSPC"  # the benchmark index (buy and hold) and the regime's market
VIX_TICKER = "^VIX"  # the volatility gauge of the regime
INDICES = (INDEX_TICKER, "^IXIC", VIX_TICKER)
FACTOR_ETFS = ("MTUM", "QUAL", "SIZE", "USMV", "VLUE")
MARKET_TICKERS = INDICES + FACTOR_ETFS  # the market context, refreshed with any watchlist


def sector_of(ticker: str) -> str:
    """The ticker's GICS sector, or the ticker itself when unknown (its own sector)."""
    return SECTORS.get(ticker, ticker)
