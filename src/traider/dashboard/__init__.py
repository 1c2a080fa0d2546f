"""The operator dashboard's library side: login (`auth`), the database queries (`queries`) and the risk-limit
arithmetic (`risk`). The Streamlit pages in `streamlit_app/` only lay these out; nothing here imports Streamlit."""
