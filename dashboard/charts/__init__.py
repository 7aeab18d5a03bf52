"""Pure chart functions: arrays / DataFrames in, plotly Figures out. No Streamlit, no state.

One module per topic; `common` holds what several pages draw (digits, probability bars).
"""
