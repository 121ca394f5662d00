"""Shared Streamlit pieces of the pages (UI only, each module at most 150 lines).

- ``state``: the global sidebar, first-start seeding and ``global_params()``
- ``loaders``: cached loaders keyed by small arguments (and the data version)
- ``progress``: the adapter from engine progress callbacks to st.status
- ``runs``: the run picker of the model pages; the Training page's job and run registry
- ``data_widgets``: freshness counts, ingest results, the CSV import's form and report
- ``membership``: watchlists with their history; the training window's universe
- ``statistics``: backtest statistics as a table
- ``settings``: alert and broker settings from Streamlit secrets or the environment
- ``auth``: the app's login lock
"""
