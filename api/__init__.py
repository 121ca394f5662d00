"""The REST interface: a thin layer over engine.workflows, like the pages (never computes).

``app.create_app`` builds the FastAPI application; ``python -m api`` serves it under
uvicorn (``make api``); ``api.lock`` refuses to expose the API or the Streamlit app
beyond loopback without a lock (an API key, Streamlit auth).
"""
