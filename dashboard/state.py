"""URL query parameters <-> RunConfig: the one way a page gets its configuration.

A shared address restores the same controls and so the same cached model. Only fields that
differ from the page's defaults go into the URL, so addresses stay short. A bad or unknown
parameter is named in a warning and ignored; the rest of the URL still applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from core.config import RunConfig, decode_value, encode_value

_FIELDS = [f.name for f in dataclasses.fields(RunConfig)]


def encode(config: RunConfig, defaults: RunConfig) -> dict[str, str]:
    """Query parameters for `config`: only the fields that differ from `defaults`."""
    out = {}
    for name in _FIELDS:
        value = getattr(config, name)
        if value != getattr(defaults, name):
            out[name] = encode_value(name, value)
    return out


def full_params(config: RunConfig) -> dict[str, str]:
    """Every field as a query parameter: a link that means exactly this config on any page."""
    return {name: encode_value(name, getattr(config, name)) for name in _FIELDS}


def decode(params: Mapping[str, Any], defaults: RunConfig, extra: Iterable[str] = ()) -> tuple[RunConfig, list[str]]:
    """(config, warnings) from query parameters. Never raises: bad parameters become warnings.

    `extra` names non-config parameters the page understands (e.g. 'run'); they are skipped here.
    """
    warnings: list[str] = []
    allowed_extra = set(extra)
    values: dict[str, Any] = {}
    for name, raw in params.items():
        if name in allowed_extra:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
        if name not in _FIELDS:
            warnings.append(f"Unknown URL parameter '{name}' was ignored.")
            continue
        if not isinstance(text, str):
            warnings.append(f"URL parameter {name} was ignored: not text.")
            continue
        try:
            values[name] = decode_value(name, text)
        except (ValueError, TypeError) as error:
            warnings.append(f"URL parameter {name}={text[:40]!r} was ignored: {error or 'not understood'}.")
    try:
        return (defaults.replace(**values) if values else defaults), warnings
    except ValueError:
        pass
    # Some values clash with each other or are out of range: apply them one at a time, in field order.
    config = defaults
    for name in _FIELDS:
        if name not in values:
            continue
        try:
            config = config.replace(**{name: values[name]})
        except ValueError as error:
            warnings.append(f"URL parameter {name} was ignored: {error}.")
    return config, warnings


# -- Streamlit glue ---------------------------------------------------------------------------

# st.session_state key: page script hash -> that page's last query parameters (name -> values).
PAGE_PARAMS = "url_params_by_page"


def _current_page() -> str | None:
    """The running page's script hash (stable for the session), or None outside a script run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx is not None else None


def _query_params() -> dict[str, list[str]]:
    import streamlit as st

    return {name: st.query_params.get_all(name) for name in st.query_params.keys()}


def _remember_params() -> None:
    """Keep the page's current query parameters for its next opening in this session."""
    import streamlit as st

    page = _current_page()
    if page is not None:
        st.session_state.setdefault(PAGE_PARAMS, {})[page] = _query_params()


def _restore_params() -> None:
    """Put back the page's last parameters when it is opened again with none at all.

    st.navigation drops the query string when the user clicks another page and then this one:
    without this, returning to a page would reset it to the defaults. A new session has nothing
    to restore, so an address without parameters still means the defaults there.
    """
    import streamlit as st

    page = _current_page()
    if page is None or len(st.query_params):
        return
    remembered = st.session_state.get(PAGE_PARAMS, {}).get(page)
    if remembered:
        st.query_params.from_dict(remembered)  # the address bar shows them again


def config_from_url(defaults: RunConfig, extra: Iterable[str] = ()) -> RunConfig:
    """The page's config from st.query_params; warnings are shown on the page.

    A page opened again in the same session without parameters gets back its last ones.
    """
    import streamlit as st

    _restore_params()
    config, warnings = decode(_query_params(), defaults, extra)
    for warning in warnings:
        st.warning(warning, icon="⚠️")
    _remember_params()
    return config


def write_url(config: RunConfig, defaults: RunConfig, extra: Mapping[str, str] | None = None) -> None:
    """Replace the query parameters with `config` (differences from defaults) plus page extras."""
    import streamlit as st

    wanted = encode(config, defaults)
    wanted.update({k: v for k, v in (extra or {}).items() if v is not None})
    current = {name: st.query_params.get(name) for name in st.query_params.keys()}
    if current != wanted:
        st.query_params.from_dict(wanted)
    _remember_params()
