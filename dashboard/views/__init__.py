"""Page sections as render_*() functions with plain inputs; the pages in app_pages/ call them in order."""
