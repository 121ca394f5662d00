"""API keys: create and revoke the keys of the REST API (see README, "REST API")."""

import streamlit as st

from engine import workflows
from views.components.state import global_params

params = global_params()
st.title("API keys")
st.caption(
    "A key is shown once, when it is created: the store keeps its sha256 only. Send it as "
    "`Authorization: Bearer <key>` or `X-API-Key: <key>`. A revoked key is refused at once."
)
with st.form("api_keys.create", clear_on_submit=True):
    name = st.text_input("Name (who or what uses it)", key="api_keys.name")
    custom = st.checkbox("Own rate limit", key="api_keys.custom")
    limit = st.number_input(
        "Requests a minute",
        1,
        100_000,
        100,
        key="api_keys.limit",
        help="Without an own limit the server's default applies (100 a minute).",
    )
    created = st.form_submit_button("Create key")
if created:
    try:
        record, token = workflows.create_api_key(
            params.db_path, name, int(limit) if custom else None
        )
    except workflows.ApiKeyError as exc:
        st.error(str(exc))
    else:
        st.success(
            f"Key {record.key_id} ({record.name}) created. Copy it now: it is not shown again."
        )
        st.code(token, language=None)

keys = workflows.load_api_keys(params.db_path)
active = keys[keys["revoked_utc"].isna()]
st.subheader(f"Keys ({len(active)} active)")
st.dataframe(keys, hide_index=True, key="api_keys.table")
if len(active):
    labels = {r.id: f"{r.id} · {r.name}" for r in active.itertuples()}
    chosen = st.selectbox(
        "Key to revoke", list(labels), format_func=labels.get, key="api_keys.pick"
    )
    if st.button("Revoke", key="api_keys.revoke"):
        workflows.revoke_api_key(params.db_path, chosen)
        st.rerun()
