"""Neural Lab dashboard (Streamlit)."""
