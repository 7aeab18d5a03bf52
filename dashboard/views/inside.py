"""Sections of the "Inside the network" page: model picker, embedding over epochs, distributions, layer health, lessons.

Each render_*() takes plain inputs (a key, a RunConfig, an InsideRecord) and draws one part of the page;
`app_pages/inside.py` calls them in order. Widget keys live here, beside the widgets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import inside
from core.config import RunConfig
from core.data import FullMnistUnavailable
from core.presets import INSIDE_LESSON_PAIRS, PRESETS
from core.snapshots import InsideRecord
from dashboard import resources, state, training_ui
from dashboard.charts import inside as charts
from dashboard.views import explorer as explorer_view
from dashboard.views.guide import link_to_page

MODEL, NOTE, ASKED = "inside_model", "inside_fallback_note", "inside_applied_address"
EPOCH, PLAYING, METHOD = "inside_epoch", "inside_playing", "inside_method"
SAVED_MODEL_VIEWS = "inside_saved_model_views"  # keys whose before/after views the user asked to compute
LAYER, KIND, ACTIVATION_LAYER, HEALTH_EPOCH = "inside_weight_layer", "inside_histogram_kind", "inside_activation_layer", "inside_health_epoch"
PLAY_SECONDS = 0.9
STABLE, TSNE = "PCA on the final epoch's axes (stable: comparable across epochs)", "t-SNE of the final epoch (not comparable across epochs)"


# -- picking a model ----------------------------------------------------------------------------


def render_no_models() -> None:
    st.info("No MNIST model has been trained yet, so there is nothing to look inside. Train one on the **Train** page, "
            "or start one of the lessons below.")


def render_model_picker(labels: dict[str, str], choice: resources.ModelChoice, note: str) -> str | None:
    """The Model picker, starting on `choice` (the address's model, else the last looked at, else the best); `note` says why."""
    options = list(labels)
    explorer_view.seed_model_picker(options, choice, note, model_key=MODEL, note_key=NOTE, asked_key=ASKED)
    return st.selectbox(
        "Model", options, format_func=labels.get, key=MODEL, placeholder="Choose a cached MNIST model",
        help="Every cached MNIST run, most recent first, with its test accuracy. Runs trained since recording began carry "
             "what happened inside them epoch by epoch. Try: a lesson model below, then the same net with ReLU.")


def render_toy_address(config: RunConfig) -> None:
    """The address names a toy 2-D run: its hidden layer is drawn, neuron by neuron, on the boundary page."""
    st.info("The address describes a toy 2-D run. Its hidden neurons are already drawn, each as its own little map of the "
            "plane, on the **Decision boundaries** page; this page looks inside MNIST models.", icon=":material/scatter_plot:")
    link_to_page("app_pages/boundary.py", "Open it on the Decision boundaries page", ":material/scatter_plot:",
                 query_params=state.link_params("boundary", config))


def render_record_problem(config: RunConfig, record: InsideRecord | None, problem: str | None) -> bool:
    """Say why views cannot be drawn (no record, damaged record, no hidden layer); True when the views can be drawn."""
    if problem is not None:
        st.warning(f"This model's recording of its training is damaged ({problem}). The views of what happened inside it "
                   "are hidden; the rest of the page works. Pick another model, or train this configuration again after "
                   "removing it on the **Runs** page.", icon="⚠️")
        return False
    if record is None:
        st.info("This model was trained before Neural Lab recorded what happens inside a network while it learns, so there "
                "are no per-epoch snapshots to replay. Its cache entry is kept as it is (nothing is retrained or deleted "
                "here); a model trained from now on, e.g. one of the lessons below or a new run on the **Train** page, "
                "carries them.", icon=":material/history:")
        return False
    return True


def render_saved_model_offer(key: str) -> InsideRecord | None:
    """For a run without a recording: offer the two views its saved model still allows (before training, final)."""
    asked = st.session_state.setdefault(SAVED_MODEL_VIEWS, set())
    if key not in asked:
        if st.button("Compute the before/after views from the saved model", icon=":material/calculate:", key=f"saved_views_{key}",
                     help="Rebuilds the untrained network from the run's seed (the same starting weights) and reads the saved "
                          "final model: two moments, nothing in between, nothing written. Try: compare them on the embedding."):
            asked.add(key)
            st.rerun()
        return None
    record, problem = resources.saved_model_record(key)
    if record is None:
        st.warning(f"The views could not be computed from the saved model ({problem}).", icon="⚠️")
        return None
    st.caption("Computed from the saved model: **before training** (rebuilt from the run's seed) and the **final epoch**; "
               "the epochs in between were not recorded.")
    return record


# -- the embedding over epochs --------------------------------------------------------------------


def _epoch_label(epoch: int) -> str:
    return "before training" if epoch == 0 else f"epoch {epoch}"


def _toggle_play(epochs: list[int]) -> None:
    playing = not st.session_state.get(PLAYING, False)
    st.session_state[PLAYING] = playing
    if playing and st.session_state.get(EPOCH) == epochs[-1]:
        st.session_state[EPOCH] = epochs[0]  # play again from the start


def render_embedding(key: str, config: RunConfig, record: InsideRecord) -> None:
    """The last hidden layer's view of the probe digits, epoch by epoch, on fixed axes; play, hover, click."""
    if record.embedding is None:
        st.info("This model has no hidden layer (logistic regression): the pixels go straight to the ten outputs, so there "
                "is no inner picture of the digits to show. The histograms and gradients below still apply.",
                icon=":material/info:")
        return
    epochs = [int(e) for e in record.epochs]
    if st.session_state.get(EPOCH) not in epochs:
        st.session_state[EPOCH] = epochs[-1]
    try:
        hover = resources.probe_hover_texts(config.dataset, tuple(int(i) for i in record.probe_index))
    except FullMnistUnavailable:
        hover = None
    explained = record.embedding_explained
    axis_titles = tuple(f"axis {i + 1} ({explained[i]:.0%} of the final spread)" if explained is not None and len(explained) > i
                        else f"axis {i + 1}" for i in range(2))
    coordinates = record.embedding[:, :, :2]
    x_range, y_range = charts.axis_range(coordinates[..., 0]), charts.axis_range(coordinates[..., 1])
    method_options = [STABLE] + ([TSNE] if inside.tsne_available() else [])

    playing_when_defined = bool(st.session_state.get(PLAYING))

    @st.fragment(run_every=PLAY_SECONDS if playing_when_defined else None)
    def panel() -> None:
        if bool(st.session_state.get(PLAYING)) != playing_when_defined:
            st.rerun(scope="app")  # Play/Pause was pressed: the fragment's timer is set when the page runs
        if st.session_state.get(PLAYING):
            position = epochs.index(st.session_state[EPOCH])
            if position >= len(epochs) - 1:
                st.session_state[PLAYING] = False
                st.rerun()  # the whole page: the fragment stops polling
            st.session_state[EPOCH] = epochs[position + 1]
        controls = st.columns([1.2, 6, 4], vertical_alignment="bottom")
        controls[0].button("Pause" if st.session_state.get(PLAYING) else "Play", icon=":material/play_arrow:",
                           key="inside_play", on_click=_toggle_play, args=(epochs,),
                           help="Replays the epochs one after another on the same axes. Try: watch when the ten clouds separate.")
        epoch = controls[1].select_slider(
            "Epoch", options=epochs, key=EPOCH, format_func=_epoch_label,
            help="Which moment of the training to show (0 = the untrained network). The axes stay fixed, so a moving point "
                 "means the network moved it. Try: compare 'before training' with the last epoch.")
        method = controls[2].radio("Projection", method_options, key=METHOD, horizontal=False,
                                   help="PCA: the final epoch's two main directions, used for every epoch (stable). t-SNE "
                                        "groups neighbours better but is fitted once on the final epoch: its axes mean nothing "
                                        "and it cannot be compared across epochs. Try: t-SNE to see which digits mix.")
        index = epochs.index(epoch)
        predicted = record.predictions(index)
        accuracy = float(np.mean(predicted == record.probe_labels))
        if method == TSNE:
            points = resources.inside_tsne(key)
            if points is None:
                st.warning("t-SNE is not available for this model.", icon="⚠️")
                return
            index, predicted = len(epochs) - 1, record.predictions(len(epochs) - 1)
            figure = charts.embedding_figure(points, record.probe_labels, predicted, hover,
                                             title=f"t-SNE of the final epoch ({_epoch_label(epochs[-1])}, not comparable across epochs)",
                                             axis_titles=("t-SNE 1 (no meaning)", "t-SNE 2 (no meaning)"))
        else:
            figure = charts.embedding_figure(coordinates[index], record.probe_labels, predicted, hover, x_range, y_range,
                                             title=f"{_epoch_label(epoch)}: {accuracy:.0%} of the {len(predicted):,} probe digits right",
                                             axis_titles=axis_titles)
        event = st.plotly_chart(figure, width="stretch", key="inside_embedding", on_select="rerun", selection_mode="points")
        st.caption(f"Each point is one of the same {len(predicted):,} test digits, placed by what the last hidden layer makes "
                   f"of it (the values the output layer `{record.embedding_layer}` receives); colour = its true class, a cross = "
                   "the network got it wrong at this epoch. Hover to see the digit; click it for its probabilities at this epoch.")
        _open_clicked(key, config, record, event, index)

    panel()


def _open_clicked(key: str, config: RunConfig, record: InsideRecord, event, epoch_index: int) -> None:
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else getattr(getattr(event, "selection", None), "points", [])
    if not points:
        return
    custom = points[0].get("customdata") if isinstance(points[0], dict) else None
    if not custom:
        return
    position = int(custom[0])
    try:
        image = resources.mnist(config.dataset).x_test[int(record.probe_index[position])]
    except FullMnistUnavailable:
        st.warning("The digit's image needs full MNIST, which cannot be loaded here.", icon="⚠️")
        return
    probabilities = record.probabilities[epoch_index, position]
    explorer_view.render_detail(key, config, image, int(record.probe_index[position]), probabilities,
                                int(record.probe_labels[position]), int(np.argmax(probabilities)))


# -- distributions and layer health -----------------------------------------------------------------


def render_distributions(record: InsideRecord) -> None:
    """Weights and activations of one layer as histograms over the epochs (heatmap or ridgeline)."""
    epochs = [int(e) for e in record.epochs]
    columns = st.columns([3, 3, 2], vertical_alignment="bottom")
    layer = columns[0].selectbox("Weights of layer", record.weight_layers, index=0, key=LAYER,
                                 help="Each layer's kernel weights, epoch by epoch. Try: the first layer of the deep "
                                      "sigmoid lesson barely moves; with ReLU it spreads out.")
    activation_layer = None
    if record.activation_layers:
        activation_layer = columns[1].selectbox(
            "Activations of layer", record.activation_layers, index=len(record.activation_layers) - 1, key=ACTIVATION_LAYER,
            help="What a layer outputs on the probe digits, epoch by epoch. Try: a sigmoid layer piling up at 0 and 1 "
                 "(saturated: its gradient vanishes); a ReLU layer's spike at 0.")
    kind = columns[2].radio("Draw as", ["heatmap", "ridgeline"], key=KIND, horizontal=True,
                            help="Heatmap: one row per epoch, colour = share of values. Ridgeline: one curve per epoch, "
                                 "stacked. Try both: the ridgeline shows shapes, the heatmap shows drift.")
    left, right = st.columns(2)
    weights = record.weight_quantiles[:, record.weight_layers.index(layer)]
    edges = inside.common_edges(weights)
    left.plotly_chart(charts.distribution_figure(inside.histograms(weights, edges), edges, epochs, f"weights of {layer}",
                                                 kind, "weight"), width="stretch", key="inside_weights_chart")
    if activation_layer is not None:
        values = record.activation_quantiles[:, record.activation_layers.index(activation_layer)]
        edges = inside.common_edges(values)
        right.plotly_chart(charts.distribution_figure(inside.histograms(values, edges), edges, epochs,
                                                      f"outputs of {activation_layer} on the probe digits", kind, "output"),
                           width="stretch", key="inside_activations_chart")
    else:
        right.info("No hidden layer: no activations to show.")


def health_table(record: InsideRecord, epoch_index: int) -> pd.DataFrame:
    """One row per weighted layer at one epoch: its gradient norm and, for the activation after it, the dead-unit share."""
    rows = []
    for position, layer in enumerate(record.weight_layers):
        activation = record.activation_layers[position] if position < len(record.activation_layers) else None
        dead = record.dead_share[epoch_index, position] if activation is not None else np.nan
        kind = record.activation_kinds[position] if activation is not None else "softmax (output)"
        rows.append({
            "layer": layer, "activation": kind,
            "gradient norm": float(record.gradient_norms[epoch_index, position]),
            "dead units": f"{dead:.0%}" if np.isfinite(dead) else ("n/a" if activation is None else f"n/a ({kind} cannot die)"),
        })
    return pd.DataFrame(rows)


def render_health(record: InsideRecord) -> None:
    """Dead-unit share and gradient norm per layer: a table at one epoch and lines over all epochs."""
    epochs = [int(e) for e in record.epochs]
    if st.session_state.get(HEALTH_EPOCH) not in epochs:
        st.session_state[HEALTH_EPOCH] = epochs[-1]
    epoch = st.select_slider("Table at", options=epochs, key=HEALTH_EPOCH, format_func=_epoch_label,
                             help="The epoch the table describes. Try: 'before training' vs the last epoch for the dying-ReLU lesson.")
    st.dataframe(health_table(record, epochs.index(epoch)), hide_index=True, width="stretch",
                 column_config={"gradient norm": st.column_config.NumberColumn(format="%.2e")})
    left, right = st.columns(2)
    left.plotly_chart(charts.layer_lines_figure(record.gradient_norms, epochs, record.weight_layers, "gradient norm per layer (one batch)",
                                                "gradient norm (log)", log=True), width="stretch", key="inside_gradients_chart")
    if np.isfinite(record.dead_share).any():
        right.plotly_chart(charts.layer_lines_figure(record.dead_share, epochs, record.activation_layers, "dead ReLU units per layer",
                                                     "dead units", percent=True), width="stretch", key="inside_dead_chart")
    else:
        right.info("No ReLU layer: only ReLU units can die (output exactly 0 for every digit). Sigmoid and tanh units "
                   "saturate instead: look at their activations above.")
    st.caption("Gradient norm: how hard one batch of 128 training digits pulls on each layer's weights (log scale). When it "
               "shrinks layer after layer towards the input, those layers learn slowly: vanishing gradients. A dead unit "
               "outputs 0 for every probe digit, so no gradient flows through it and it stops learning.")


# -- lessons ---------------------------------------------------------------------------------------


def _open_model(key: str) -> None:
    st.session_state[MODEL] = key


def render_lessons(labels: dict[str, str]) -> None:
    """The one-click lesson pairs: train both models in the background, then compare them layer by layer."""
    for title, first, second, what in INSIDE_LESSON_PAIRS:
        configs = {name: PRESETS[name].config for name in (first, second)}
        with st.container(border=True):
            st.markdown(f"**{title}**: {PRESETS[first].summary}; vs {PRESETS[second].summary}.")
            missing = [config for config in configs.values() if config.key() not in labels]
            training_ui.train_missing(missing, label=title, button="Train the {count} missing model(s) of this lesson",
                                      icon=":material/school:", key=f"inside_lesson_{first}_{second}")
            if missing:
                continue
            records = {name: resources.inside_record(config.key())[0] for name, config in configs.items()}
            buttons = st.columns(2)
            for column, (name, config) in zip(buttons, configs.items(), strict=True):
                column.button(f"Open {name}", key=f"inside_open_{title}_{name}", on_click=_open_model, args=(config.key(),),
                              help="Show this model in the views above.")
            if any(record is None for record in records.values()):
                st.caption("One of these models was trained before recording began: no comparison.")
                continue
            layers = next(iter(records.values())).weight_layers
            if what.startswith("gradient"):
                series = {name: record.gradient_norms[-1] for name, record in records.items()}
                figure = charts.lesson_figure(series, layers, f"{title}: gradient norm per layer after the last epoch",
                                              "gradient norm (log)", log=True)
            else:
                series = {name: record.dead_share[-1] for name, record in records.items()}
                figure = charts.lesson_figure(series, next(iter(records.values())).activation_layers,
                                              f"{title}: dead units per layer after the last epoch", "dead units", percent=True)
            st.plotly_chart(figure, width="stretch", key=f"inside_lesson_chart_{first}_{second}")


# -- the other engineer's sections -------------------------------------------------------------------


def render_network_sections(config: RunConfig) -> None:
    """Calibration, the network as a picture and the convolution step by step (dashboard/views/network.py, when present)."""
    try:
        from dashboard.views import network as network_view
    except ImportError:
        return
    network_view.render_calibration(config)
    network_view.render_network_picture(config)
    network_view.render_convolution(config)
