"""URL query parameters <-> RunConfig: the one way a page gets its configuration.

A shared address restores the same controls and so the same cached model. Only fields that
differ from the page's defaults go into the URL, so addresses stay short. A bad or unknown
parameter is named in a warning and ignored; the rest of the URL still applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from core.config import FieldError, RunConfig, decode_value, encode_value, expected

_FIELDS = [f.name for f in dataclasses.fields(RunConfig)]

# Every parameter a page understands besides the RunConfig fields (page file name -> names).
PAGE_EXTRAS: dict[str, tuple[str, ...]] = {
    "training": ("compare",),  # a run key to compare with
    "explorer": ("compare", "true", "pred", "sort", "digit"),  # second model, error filter, order, open digit
    "draw": ("run",),  # the model that reads the drawing
    "boundary": (),
    "runs": (),
    "start": (),
    "inside": (),  # the model comes from the configuration, like Misclassified digits
    "robustness": ("models", "perturbation", "strength"),  # models compared (keys), damage and its gallery strength
}

def page_defaults(page: str) -> RunConfig | None:
    """The configuration a page shows when its address has no parameters (None: the page takes none, e.g. Draw)."""
    from core.presets import BOUNDARY_DEFAULTS, preset

    return {"training": RunConfig(), "boundary": BOUNDARY_DEFAULTS, "explorer": preset("base")}.get(page)


def link_params(page: str, config: RunConfig, extras: Mapping[str, str] | None = None) -> dict[str, str]:
    """Query parameters that open `page` with `config` (plus the page's own `extras`): a shareable link.

    Only the differences from the page's defaults go in, so the address stays short; a config equal to
    the defaults gets every field (an address without parameters would bring back the page's last ones).
    """
    params: dict[str, str] = {}
    defaults = page_defaults(page)
    if defaults is not None:
        params = encode(config, defaults) or full_params(config)
    params.update({name: value for name, value in (extras or {}).items() if value is not None})
    return params


def is_config_link(params: Mapping[str, Any]) -> bool:
    """Whether query parameters name a configuration (an old shared Train address: /?layers=...)."""
    return any(name in _FIELDS or name == "compare" for name in params)


SHOWN_CHARACTERS = 20  # a value longer than this is cut in a warning


def shown(text: str) -> str:
    """A parameter's text as a warning quotes it: cut to SHOWN_CHARACTERS with '…'."""
    return repr(text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…")


def _clash_warning(name: str, text: str, error: ValueError, config: RunConfig) -> str:
    """Why a value that parses was refused, naming the parameter that is really wrong."""
    if isinstance(error, FieldError) and error.field == name:
        return f"{name} must be {expected(name, task=config.task, arch=config.arch)}; got {shown(text)}"
    if str(error).startswith(f"{name}="):  # the reason already quotes the value
        return f"{name} was ignored: {error}"
    return f"{name}={shown(text)} was ignored: {error}"


def _task_warning(task: str, dataset_text: str | None, error: ValueError, config: RunConfig) -> str:
    """Why a task (with the dataset given beside it, if any) was refused."""
    if not (isinstance(error, FieldError) and error.field == "dataset"):
        return _clash_warning("task", task, error, config)
    if dataset_text is None:
        kind, example = ("a toy", "xor") if task == "toy" else ("an MNIST", "embedded")
        return f"task={task} needs {kind} dataset too, e.g. dataset={example} ({expected('dataset', task=task)}); task was ignored"
    return f"dataset must be {expected('dataset', task=task)}; got {shown(dataset_text)}. task and dataset were ignored"


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
    config, warnings, _ = _decode(params, defaults, extra)
    return config, warnings


def _decode(params: Mapping[str, Any], defaults: RunConfig, extra: Iterable[str]) -> tuple[RunConfig, list[str], set[str]]:
    """decode() plus the names of the parameters that were ignored (to clean them out of the address)."""
    warnings: list[str] = []
    rejected: set[str] = set()
    allowed_extra = set(extra)
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for name, raw in params.items():
        if name in allowed_extra:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) and raw else raw
        rejected.add(name)  # until it is applied
        if name not in _FIELDS:
            warnings.append(f"Unknown URL parameter {shown(str(name))} was ignored.")
            continue
        if not isinstance(text, str):
            warnings.append(f"URL parameter {name} was ignored: not text.")
            continue
        try:
            values[name] = decode_value(name, text)
            texts[name] = text
        except (ValueError, TypeError):
            context = {key: values.get(key, getattr(defaults, key)) for key in ("task", "arch")}
            warnings.append(f"{name} must be {expected(name, **context)}; got {shown(text)}")
    try:
        config = defaults.replace(**values) if values else defaults
        return config, warnings, rejected - set(values)
    except ValueError:
        pass
    # Some values clash with each other or are out of range: apply them one at a time, in field order.
    # A task and the dataset beside it are one step: a dataset only makes sense for its task.
    config = defaults
    for name in _FIELDS:
        if name not in values or (name == "dataset" and "task" in values):
            continue
        step = {key: values[key] for key in (("task", "dataset") if name == "task" else (name,)) if key in values}
        try:
            config = config.replace(**step)
            rejected -= set(step)
        except ValueError as error:
            if name == "task":
                warnings.append(_task_warning(values["task"], texts.get("dataset"), error, config))
            else:
                warnings.append(_clash_warning(name, texts[name], error, config))
    return config, warnings, rejected


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


def config_from_url(defaults: RunConfig, extra: Iterable[str] = (), page: str | None = None) -> RunConfig:
    """The page's config from st.query_params; warnings are shown on the page.

    `extra` (or the PAGE_EXTRAS of `page`) are the page's own parameters, kept as they are.
    Ignored parameters are taken out of the address bar, so a shared link carries only what
    applies. A page opened again in the same session without parameters gets back its last ones.
    """
    import streamlit as st

    extras = set(extra) | set(PAGE_EXTRAS.get(page, ()) if page else ())
    _restore_params()
    params = _query_params()
    config, warnings, rejected = _decode(params, defaults, extras)
    for warning in warnings:
        st.warning(warning, icon="⚠️")
    if rejected:
        st.query_params.from_dict({name: values for name, values in params.items() if name not in rejected})
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
