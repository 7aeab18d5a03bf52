"""The learning path: short experiments that follow the tutorials, one card each on the start page.

Each experiment is data: the question it answers, the page it opens and the configuration it opens
it with (the start page turns those into a shareable address through dashboard/state.py), what to
look for once the page is open, and a one-line explanation the student reveals afterwards. The
configurations come from the presets (core/presets.py) so an experiment opens the very model the
tutorial trained, and a model trained for one card is loaded from the cache by the next.

Like core/config.py, this module must not import TensorFlow: the start page reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.config import RunConfig
from core.presets import BOUNDARY_DEFAULTS, preset

# The pages an experiment can open (file stems of dashboard/app_pages/).
PAGES = ("training", "boundary", "explorer", "draw", "robustness")


@dataclass(frozen=True)
class Experiment:
    """One card of the learning path.

    `page` is the page it opens, `config` the configuration it opens it with (for the Draw and
    Robustness pages, which take no configuration: the first model they show), `extras` the page's own
    URL parameters (e.g. the Explorer's sort, the models Robustness compares). `needs` are the models
    the page shows but does not train (Explorer, Draw, Robustness): the card offers to train each on
    the Train page first.
    """

    slug: str
    title: str
    question: str
    page: str
    config: RunConfig
    look_for: str
    explanation: str
    extras: dict[str, str] = field(default_factory=dict)
    needs: tuple[RunConfig, ...] = ()


_MLP = RunConfig()  # the Train page's defaults: MLP 64-64 relu, Adam 1e-3, batch 128, 10 epochs
_SEED001_CNN = preset("seed001-cnn")
_SEED001_DNN = preset("seed001-dnn")

EXPERIMENTS: list[Experiment] = [
    Experiment(
        "overfitting", "Overfitting",
        "Why does the network get better on training digits while it stops improving on new ones?",
        "training", _SEED001_CNN,
        "Press **Train / load** (about a minute the first time). Watch the two accuracy curves: training keeps "
        "climbing towards 100 % while validation flattens, and the validation loss stops falling or turns up. "
        "The shaded band between the curves is the gap.",
        "The CNN has enough parameters to memorise 3,500 training digits: after a few epochs it learns their "
        "quirks instead of what digits look like, which helps on them and not on new digits. That is overfitting.",
    ),
    Experiment(
        "regularisation", "The cure: dropout and L2",
        "Can we stop the network memorising? What does it cost?",
        "training", preset("seed001-cnn-regularized"),
        "Train it, then compare with the first experiment under **Compare runs** (pick both runs). The train and "
        "validation curves now move together; look at where validation accuracy ends.",
        "Dropout (random units switched off while training) and L2 (a penalty on big weights) make memorising "
        "hard, so the gap closes. On only 3,500 digits this much of both also holds the model back: a cure can "
        "be too strong. Try a smaller L2 and see.",
    ),
    Experiment(
        "more-data", "Would more data help?",
        "Would the network get better with more training digits, or has it learnt all it can?",
        "training", _MLP,
        "Scroll to **More data?** and press **Train the 5 missing size(s)**: the MLP is trained on 250, 500, 1,000, "
        "2,000 and 3,500 digits (about a minute in all). Watch the gap between the two curves and where the test "
        "curve goes at the right edge, then read the sentence under the chart.",
        "With 250 digits the MLP gets every training digit right and only about 84 % of new ones: it memorised them. "
        "Each doubling of the data closes part of that gap (about 93 % on test with all 3,500) and the test curve is "
        "still rising at the end, so more digits would help. A test curve gone flat says the opposite: change the model.",
    ),
    Experiment(
        "xor-depth", "Depth on XOR",
        "Can a straight line separate the XOR quadrants? How many hidden layers does it take?",
        "boundary", BOUNDARY_DEFAULTS.replace(layers=0),
        "Press **Train / load**: with 0 hidden layers (logistic regression) the boundary is one straight line and "
        "accuracy stays low (about 50-70 %). Then set **Hidden layers** to 1, train, and to 2, train again.",
        "A layer without hidden units can only draw one straight line, and no line splits XOR's diagonal "
        "quadrants. Each hidden unit adds a line; the next layer combines them into corners and stripes.",
    ),
    Experiment(
        "tanh-relu", "tanh vs ReLU, 2 vs 4 units",
        "Do smooth (tanh) and kinked (ReLU) units draw different boundaries?",
        "boundary", preset("seed003-blocks-2-tanh"),
        "Train the 2 tanh units on the four blocks and look at the corner around class 1. Then switch "
        "**Activation** to relu, train; then set **Units** to 4 with each activation.",
        "Every unit contributes one edge: tanh edges are soft, so the corner comes out rounded; ReLU edges are "
        "straight half-planes, so the corner is sharp and piecewise straight. Four units wrap the class tighter "
        "than two; the score is similar, the shape differs.",
    ),
    Experiment(
        "learning-rate-high", "A learning rate too high",
        "What happens when each step is far too big?",
        "training", _MLP.replace(learning_rate=1.0),
        "Train it (a few seconds). Look at the loss curve: it starts in the hundreds instead of near 2, then lies "
        "flat; accuracy sits at 10 %: a guess. (With other settings the loss goes up, or becomes NaN.)",
        "The learning rate is the step size along the slope of the loss. Too big a step jumps over the valley "
        "and lands higher up each time, until the numbers blow up.",
    ),
    Experiment(
        "learning-rate-low", "A learning rate too low",
        "And when each step is tiny?",
        "training", _MLP.replace(learning_rate=1e-5),
        "Train it. Both curves crawl upwards and are still rising at the last epoch: the reading under the "
        "curves says so. Compare with the default rate 0.001.",
        "Tiny steps go the right way but take forever: ten epochs are not enough to get down the slope. More "
        "epochs or a bigger rate fix it.",
    ),
    Experiment(
        "learning-rate-finder", "Finding a good learning rate",
        "Which learning rate should I pick, without training a model for every guess?",
        "training", _MLP.replace(learning_rate=1e-5),
        "Open **Find a learning rate** and press **Run the range test** (seconds): the loss lies flat at tiny rates, "
        "dives, then shoots up. Press **Use this learning rate** (about 0.003), then **Train / load**, and compare "
        "with this too-low 0.00001 run under **Compare runs**.",
        "One short run multiplies the rate at every batch, so it crosses the whole scale: too small changes nothing, "
        "too big blows up (here from about 0.3). A good rate sits where the loss falls fastest, well before that.",
    ),
    Experiment(
        "batch-size", "Batch size and noisy curves",
        "Why are some learning curves jagged and others smooth?",
        "training", _MLP.replace(batch_size=8),
        "Train with batch 8 and look at the validation curve's wiggles. Then set **Batch size** to 1024, train, "
        "and overlay both under **Compare runs**.",
        "Each step follows the gradient of one batch: 8 digits give a noisy estimate (jagged curves, many quick "
        "steps), 1024 a smooth one but only four steps per epoch, so it learns more slowly per epoch.",
    ),
    Experiment(
        "filters", "Filters and feature maps of a CNN",
        "What does a convolutional network look at?",
        "explorer", _SEED001_CNN,
        "Open any digit in the gallery (the Explorer shows the CNN of the first experiment). At the bottom: the "
        "first layer's filters, and the feature maps each filter makes of this digit.",
        "Each filter is a tiny pattern (an edge, a corner) slid over the image; its feature map lights up where "
        "the pattern occurs. Later layers combine these maps into strokes and loops.",
        needs=(_SEED001_CNN,),
    ),
    Experiment(
        "confident-mistakes", "The most confident mistakes",
        "When the network is wrong, is it unsure?",
        "explorer", _SEED001_DNN,
        "The gallery lists the mistakes sorted by confidence, most sure first. Look at the top ones and their "
        "probability bars: often 99 % on the wrong digit.",
        "A softmax always sums to 100 %: it has no \"I don't know\". Some of these digits are badly written, a "
        "few are mislabelled; the probability is a score, not a guarantee.",
        needs=(_SEED001_DNN,),
    ),
    Experiment(
        "bad-drawing", "A digit drawn badly on purpose",
        "Does the network still read a digit drawn off-centre and thick?",
        "draw", _SEED001_CNN,
        "Draw a 7 small in a corner with a thick stroke (**Stroke width** 35). Read the probabilities, then open "
        "the inspector: each preparation step, and the 28x28 image the model really sees.",
        "MNIST digits were cropped, scaled to 20 px and centred on their centre of mass; the page does the same "
        "to your drawing, so position barely matters. Thickness and odd shapes are what fool it.",
        extras={"run": _SEED001_CNN.key()},
        needs=(_SEED001_CNN,),
    ),
    Experiment(
        "mlp-vs-cnn", "MLP vs CNN on the same drawings",
        "Which kind of network reads your handwriting better?",
        "draw", _SEED001_DNN,
        "Draw a few digits; open the **Compare models** tab and pick the CNN of the first experiment too: both "
        "networks read the same drawing side by side.",
        "The MLP sees 784 unrelated pixels; the CNN's filters look at neighbourhoods wherever they are, so it "
        "copes better with shapes drawn a bit differently from the training digits.",
        extras={"run": _SEED001_DNN.key()},
        needs=(_SEED001_DNN,),
    ),
    Experiment(
        "robustness", "Tilted and attacked digits",
        "How robust are a CNN and an MLP to a tilted digit, or to one nudged against them on purpose?",
        "robustness", _SEED001_CNN,
        "The CNN of the first experiment (seed001-cnn) and the MLP of the confident mistakes (seed001-dnn), on digits "
        "turned 0° to 80°: both fall, the CNN a bit later (about 70 % against 57 % at 30°). Then pick **FGSM attack**: "
        "at ε = 0.1 the MLP reads almost nothing, the CNN still most digits.",
        "Neither saw tilted digits while training, so neither undoes a rotation (the **Augment** box trains on "
        "slightly tilted copies). FGSM nudges every pixel a little the way that hurts the model most: an MLP unit "
        "weighs all 784 pixels, so the nudges add up; a CNN filter sees only a few.",
        extras={"models": f"{_SEED001_CNN.key()},{_SEED001_DNN.key()}", "perturbation": "rotation", "strength": "30"},
        needs=(_SEED001_CNN, _SEED001_DNN),
    ),
]

BY_SLUG: dict[str, Experiment] = {experiment.slug: experiment for experiment in EXPERIMENTS}
