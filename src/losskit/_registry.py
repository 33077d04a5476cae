"""The registry: every built-in loss with its metadata, the single source of truth.

The test suite, the command line and the documentation iterate over
``REGISTRY``; adding a loss means adding its class to a family module and one
entry here.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

from ._base import LossFunction
from ._classification import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    HingeLoss,
    MulticlassHingeLoss,
    SparseCategoricalCrossEntropy,
    SquaredHingeLoss,
)
from ._distribution import KLDivergence
from ._imbalanced import CategoricalFocalLoss, FocalLoss, WeightedCrossEntropy
from ._regression import (
    HuberLoss,
    LogCoshLoss,
    MeanAbsoluteError,
    MeanSquaredError,
    PoissonLoss,
    QuantileLoss,
    SmoothL1Loss,
)
from ._segmentation import DiceLoss, JaccardLoss, MedicalImagingLoss, TverskyLoss
from ._similarity import ContrastiveLoss, TripletLoss

__all__ = ["ALIASES", "REGISTRY", "LossInfo", "get", "info", "names"]

#: The tasks, in the order the command line lists them.
TASKS = (
    "regression",
    "binary classification",
    "multi-class classification",
    "imbalanced classification",
    "segmentation",
    "distribution matching",
    "similarity learning",
)

#: Hessian kinds (SPEC §4: exact, zero almost everywhere, or not available).
EXACT = "exact"
EXACT_AE = "exact almost everywhere"
ZERO_AE = "zero almost everywhere"
NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class LossInfo:
    """Metadata of one registered loss (``losskit.info(name)``)."""

    name: str
    cls: type[LossFunction]
    task: str
    summary: str
    inputs: str
    formula: str
    derivative: str
    hessian: str
    convex: bool
    robust: bool
    smooth: bool
    bounded: bool
    hessian_kind: str
    kinks: str
    params: dict[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    seed: str = ""

    @property
    def has_hessian(self) -> bool:
        return self.hessian_kind != NOT_AVAILABLE

    @property
    def defaults(self) -> dict[str, Any]:
        """The constructor's default parameters."""
        return self.cls().params

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the class by name), for JSON."""
        d = asdict(self)
        d["cls"] = f"losskit.{self.cls.__name__}"
        d["has_hessian"] = self.has_hessian
        d["references"] = list(self.references)
        return d


_REDUCTION = {"reduction": "'mean' | 'sum' | 'none'"}
_LOGITS = {"from_logits": "bool: y_pred holds logits instead of probabilities"}
_OVERLAP = {
    "smooth": "[0, inf)",
    "per_sample": "bool: one score per sample",
    "per_class": "bool: last axis holds classes, averaged",
}

_ENTRIES = [
    LossInfo(
        name="mse",
        cls=MeanSquaredError,
        task="regression",
        summary="Squared error: the mean for Gaussian noise; sensitive to outliers.",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"(\hat y - y)^2",
        derivative=r"2(\hat y - y)",
        hessian=r"2",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params=dict(_REDUCTION),
        references=("Gauss (1809), Theoria motus corporum coelestium",),
        seed="The formula's derivative 2(y - ŷ) has the wrong sign (the code is right).",
    ),
    LossInfo(
        name="mae",
        cls=MeanAbsoluteError,
        task="regression",
        summary="Absolute error: the median; robust to outliers, not differentiable at 0.",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"|\hat y - y|",
        derivative=r"\operatorname{sign}(\hat y - y)",
        hessian=r"0",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=ZERO_AE,
        kinks="derivative 0 at ŷ = y (PyTorch's abs); Hessian 0",
        params=dict(_REDUCTION),
        references=("Laplace (1774); Koenker & Bassett (1978)",),
    ),
    LossInfo(
        name="huber",
        cls=HuberLoss,
        task="regression",
        summary="Quadratic near zero, linear beyond delta: robust and smooth-ish (PyTorch HuberLoss).",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"\begin{cases}\tfrac12 r^2 & |r|<\delta\\ \delta(|r|-\tfrac12\delta) & \text{else}\end{cases},\ r=\hat y-y",
        derivative=r"\operatorname{clip}(r,-\delta,\delta)",
        hessian=r"\mathbb 1[|r|<\delta]",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="at |r| = delta: derivative ±delta (continuous), Hessian 0 (PyTorch's branch)",
        params={"delta": "(0, inf)", **_REDUCTION},
        references=("Huber (1964), Annals of Mathematical Statistics 35(1)",),
        seed="The derivative (formula and code) uses y - ŷ instead of ŷ - y: the wrong sign.",
    ),
    LossInfo(
        name="smooth_l1",
        cls=SmoothL1Loss,
        task="regression",
        summary="Huber divided by beta (PyTorch SmoothL1Loss); beta = 0 is the absolute error.",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"\begin{cases}\tfrac{1}{2\beta} r^2 & |r|<\beta\\ |r|-\tfrac12\beta & \text{else}\end{cases}",
        derivative=r"\operatorname{clip}(r/\beta,-1,1)",
        hessian=r"\mathbb 1[|r|<\beta]/\beta",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="at |r| = beta: Hessian 0; beta = 0: as mae",
        params={"beta": "[0, inf)", **_REDUCTION},
        references=("Girshick (2015), Fast R-CNN, ICCV",),
    ),
    LossInfo(
        name="log_cosh",
        cls=LogCoshLoss,
        task="regression",
        summary="log(cosh(r)): quadratic near zero, linear far away, twice differentiable.",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"\log\cosh(\hat y - y)",
        derivative=r"\tanh(\hat y - y)",
        hessian=r"\operatorname{sech}^2(\hat y - y)",
        convex=True,
        robust=True,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params=dict(_REDUCTION),
        references=("Chen, Chen & Zhang (2019), Log hyperbolic cosine loss",),
        seed="The derivative tanh(y - ŷ) has the wrong sign.",
    ),
    LossInfo(
        name="quantile",
        cls=QuantileLoss,
        task="regression",
        summary="Pinball loss: fits the q-quantile; q = 0.5 is half the absolute error.",
        inputs="y_true: real targets; y_pred: real predictions of the same shape",
        formula=r"q\max(y-\hat y,0)+(1-q)\max(\hat y-y,0)",
        derivative=r"-q\,\mathbb 1[\hat y<y]+(1-q)\,\mathbb 1[\hat y>y]",
        hessian=r"0",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=ZERO_AE,
        kinks="derivative 0 at ŷ = y; Hessian 0",
        params={"quantile": "(0, 1)", **_REDUCTION},
        references=("Koenker & Bassett (1978), Econometrica 46(1)",),
    ),
    LossInfo(
        name="poisson",
        cls=PoissonLoss,
        task="regression",
        summary="Poisson negative log-likelihood for counts (PyTorch PoissonNLLLoss).",
        inputs="y_true: non-negative counts; y_pred: log-rates (log_input=True) or rates",
        formula=r"e^{x} - y x",
        derivative=r"e^{x} - y",
        hessian=r"e^{x}",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params={
            "log_input": "bool",
            "full": "bool: add Stirling's term",
            "eps": "(0, inf)",
            **_REDUCTION,
        },
        references=("McCullagh & Nelder (1989), Generalized Linear Models",),
    ),
    LossInfo(
        name="binary_cross_entropy",
        cls=BinaryCrossEntropy,
        task="binary classification",
        summary="Log loss for binary or multi-label targets; logits form is exact at any scale.",
        inputs="y_true: labels in [0, 1] (soft allowed); y_pred: probabilities or logits",
        formula=r"-[w_+ y\log p+(1-y)\log(1-p)]",
        derivative=r"\frac{p-y}{p(1-p)}\ \text{(probabilities)};\ \sigma(x)-y\ \text{(logits)}",
        hessian=r"\frac{y}{p^2}+\frac{1-y}{(1-p)^2};\ \sigma(x)(1-\sigma(x))",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none; log p clamped at -100, p(1-p) floored at 1e-12 (PyTorch BCELoss)",
        params={
            **_LOGITS,
            "pos_weight": "[0, inf) or one per last-axis entry",
            "label_smoothing": "[0, 1]",
            **_REDUCTION,
        },
        references=("Bishop (2006), Pattern Recognition and Machine Learning §4.3.2",),
        seed="Clipping at 1 - 1e-15 is 1.0 in float32, so log(1 - p) is log(0) = -inf.",
    ),
    LossInfo(
        name="categorical_cross_entropy",
        cls=CategoricalCrossEntropy,
        task="multi-class classification",
        summary="Cross-entropy against probability or one-hot targets over the last axis.",
        inputs="y_true: target rows in [0, 1]; y_pred: probability rows or logits (last axis = classes)",
        formula=r"-\sum_c w_c t_c\log p_c",
        derivative=r"-\frac{w_c t_c}{p_c};\ A p - w t\ \text{(logits)}",
        hessian=r"\frac{w_c t_c}{p_c^2};\ A p(1-p)\ \text{(logits, exact diagonal)}",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none; masked classes (logit -inf, target 0) contribute 0",
        params={
            **_LOGITS,
            "class_weight": "one per class, >= 0",
            "label_smoothing": "[0, 1]",
            **_REDUCTION,
        },
        references=("Goodfellow, Bengio & Courville (2016), Deep Learning §6.2.2",),
    ),
    LossInfo(
        name="sparse_categorical_cross_entropy",
        cls=SparseCategoricalCrossEntropy,
        task="multi-class classification",
        summary="Cross-entropy with integer labels (torch.nn.functional.cross_entropy).",
        inputs="y_true: integer labels, shape of y_pred without its last axis; y_pred: probabilities or logits",
        formula=r"-(1-e)w_{y}\log p_{y}-\frac{e}{C}\sum_c w_c\log p_c",
        derivative=r"A p - a\ \text{(logits)};\ -a/p",
        hessian=r"A p(1-p)\ \text{(logits)};\ a/p^2",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none; ignored labels add nothing; all ignored gives 0",
        params={
            **_LOGITS,
            "class_weight": "one per class",
            "ignore_index": "int or None",
            "label_smoothing": "[0, 1]",
            **_REDUCTION,
        },
        references=("PyTorch CrossEntropyLoss documentation",),
        seed="The seed gives the formula only, with no derivative.",
    ),
    LossInfo(
        name="hinge",
        cls=HingeLoss,
        task="binary classification",
        summary="SVM hinge loss for labels in {-1, 1} (or all {0, 1}).",
        inputs="y_true: labels in {-1, 1} or {0, 1}; y_pred: real scores",
        formula=r"\max(0, m - y\hat y)",
        derivative=r"-y\,\mathbb 1[m - y\hat y > 0]",
        hessian=r"0",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=ZERO_AE,
        kinks="derivative 0 at the margin (relu); Hessian 0",
        params={"margin": "[0, inf)", **_REDUCTION},
        references=("Cortes & Vapnik (1995), Machine Learning 20",),
    ),
    LossInfo(
        name="squared_hinge",
        cls=SquaredHingeLoss,
        task="binary classification",
        summary="Squared hinge: differentiable, penalises margin violations quadratically.",
        inputs="y_true: labels in {-1, 1} or {0, 1}; y_pred: real scores",
        formula=r"\max(0, m - y\hat y)^2",
        derivative=r"-2y\max(0, m - y\hat y)",
        hessian=r"2\,\mathbb 1[m - y\hat y > 0]",
        convex=True,
        robust=False,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="Hessian 0 at the margin",
        params={"margin": "[0, inf)", **_REDUCTION},
        references=("Lee & Lin (2013), A study on L2-loss (squared hinge-loss) multiclass SVM",),
    ),
    LossInfo(
        name="multiclass_hinge",
        cls=MulticlassHingeLoss,
        task="multi-class classification",
        summary="Weston-Watkins multi-class hinge (PyTorch MultiMarginLoss).",
        inputs="y_true: integer labels; y_pred: class scores (last axis)",
        formula=r"\frac1C\sum_{i\ne y} w_y\max(0, m - x_y + x_i)^p",
        derivative=r"\frac{w_y p}{C}\max(0,z_i)^{p-1}\ (i\ne y);\ -\sum_{i\ne y}(\cdot)\ (i=y)",
        hessian=r"0\ (p=1);\ \frac{2w_y}{C}\mathbb 1[z_i>0]\ (p=2)",
        convex=True,
        robust=True,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="derivative 0 where a margin is met exactly (PyTorch); Hessian 0 for p = 1",
        params={"margin": "[0, inf)", "p": "1 or 2", "class_weight": "one per class", **_REDUCTION},
        references=("Weston & Watkins (1999), ESANN",),
    ),
    LossInfo(
        name="focal",
        cls=FocalLoss,
        task="imbalanced classification",
        summary="Binary focal loss: down-weights easy examples (torchvision sigmoid_focal_loss).",
        inputs="y_true: labels in [0, 1]; y_pred: probabilities or logits",
        formula=r"\alpha_t (1-p_t)^\gamma\,\mathrm{BCE}(y, p)",
        derivative=r"\alpha_t q^\gamma(\gamma s\,\mathrm{ce}/q+\mathrm{ce}'),\ q=1-p_t,\ s=1-2y",
        hessian=r"\alpha_t[q^{\gamma-1}(\gamma(\gamma-1)s^2\mathrm{ce}/q+2\gamma s\,\mathrm{ce}')+q^\gamma\mathrm{ce}'']",
        convex=False,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none; finite derivatives at p_t = 1 for 0 < gamma < 1",
        params={"gamma": "[0, inf)", "alpha": "[0, 1] or None", **_LOGITS, **_REDUCTION},
        references=(
            "Lin, Goyal, Girshick, He & Dollár (2017), Focal loss for dense object detection, ICCV",
        ),
        seed="The code's derivative is -∂l/∂p_t: the wrong sign for positives; its α weights both classes alike.",
    ),
    LossInfo(
        name="categorical_focal",
        cls=CategoricalFocalLoss,
        task="imbalanced classification",
        summary="Multi-class focal loss over the last axis (Keras CategoricalFocalCrossentropy).",
        inputs="y_true: target rows in [0, 1]; y_pred: probability rows or logits",
        formula=r"-\sum_c \alpha_c t_c (1-p_c)^\gamma \log p_c",
        derivative=r"\alpha_c t_c u^\gamma(\gamma\log p_c/u - 1/p_c),\ u = 1-p_c",
        hessian=r"\alpha_c t_c[u^{\gamma-1}(-\gamma(\gamma-1)\log p_c/u+2\gamma/p_c)+u^\gamma/p_c^2]",
        convex=False,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params={
            "gamma": "[0, inf)",
            "alpha": "float, one per class, or None",
            **_LOGITS,
            "label_smoothing": "[0, 1]",
            **_REDUCTION,
        },
        references=("Lin et al. (2017), ICCV",),
    ),
    LossInfo(
        name="weighted_cross_entropy",
        cls=WeightedCrossEntropy,
        task="imbalanced classification",
        summary="Binary cross-entropy with a weight per class (the seed's WeightedCrossEntropy).",
        inputs="y_true: labels in [0, 1]; y_pred: probabilities or logits",
        formula=r"-[w_1 y\log p + w_0(1-y)\log(1-p)]",
        derivative=r"\frac{w_0(1-y)p - w_1 y(1-p)}{p(1-p)}",
        hessian=r"\frac{w_1 y}{p^2}+\frac{w_0(1-y)}{(1-p)^2}",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params={"class_weights": "(w_negative, w_positive), >= 0", **_LOGITS, **_REDUCTION},
        references=("King & Zeng (2001), Logistic regression in rare events data",),
        seed="np.where(y == 1) gives soft labels the negative weight; the clip at 1 - 1e-15 is 1.0 in float32.",
    ),
    LossInfo(
        name="dice",
        cls=DiceLoss,
        task="segmentation",
        summary="Soft Dice loss: overlap of mask and prediction, insensitive to class imbalance.",
        inputs="y_true: masks in [0, 1]; y_pred: probabilities of the same shape",
        formula=r"1-\frac{2\sum yp+s}{\sum y+\sum p+s}",
        derivative=r"\frac{2I+s}{(U+s)^2}-\frac{2y_i}{U+s}",
        hessian=r"\frac{4y_i}{(U+s)^2}-\frac{2(2I+s)}{(U+s)^3}",
        convex=False,
        robust=False,
        smooth=True,
        bounded=True,
        hessian_kind=EXACT,
        kinks="none; empty mask and prediction give 0",
        params=dict(_OVERLAP, **_REDUCTION),
        references=("Milletari, Navab & Ahmadi (2016), V-Net, 3DV",),
        seed="The derivative is divided by the element count (n times too small) and drops the smoothing terms.",
    ),
    LossInfo(
        name="jaccard",
        cls=JaccardLoss,
        task="segmentation",
        summary="Soft Jaccard (IoU) loss.",
        inputs="y_true: masks in [0, 1]; y_pred: probabilities of the same shape",
        formula=r"1-\frac{\sum yp+s}{\sum y+\sum p-\sum yp+s}",
        derivative=r"\frac{N a_i - y_i D}{D^2},\ a_i = 1",
        hessian=r"\frac{2a_i(y_i D - N a_i)}{D^3}",
        convex=False,
        robust=False,
        smooth=True,
        bounded=True,
        hessian_kind=EXACT,
        kinks="none; empty mask and prediction give 0",
        params=dict(_OVERLAP, **_REDUCTION),
        references=("Rahman & Wang (2016), Optimizing intersection-over-union, ISVC",),
    ),
    LossInfo(
        name="tversky",
        cls=TverskyLoss,
        task="segmentation",
        summary="Tversky loss: Dice with separate weights for false positives and negatives.",
        inputs="y_true: masks in [0, 1]; y_pred: probabilities of the same shape",
        formula=r"1-\frac{TP+s}{TP+\alpha FP+\beta FN+s}",
        derivative=r"\frac{N a_i - y_i D}{D^2},\ a_i = y_i+\alpha(1-y_i)-\beta y_i",
        hessian=r"\frac{2a_i(y_i D - N a_i)}{D^3}",
        convex=False,
        robust=False,
        smooth=True,
        bounded=True,
        hessian_kind=EXACT,
        kinks="none; empty mask and prediction give 0",
        params={"alpha": "[0, inf)", "beta": "[0, inf)", **_OVERLAP, **_REDUCTION},
        references=("Salehi, Erdogmus & Gholipour (2017), Tversky loss, MLMI",),
    ),
    LossInfo(
        name="medical_imaging",
        cls=MedicalImagingLoss,
        task="segmentation",
        summary="Binary cross-entropy plus a non-negative edge-agreement term (the seed's loss, corrected).",
        inputs="y_true: masks in [0, 1]; y_pred: probabilities; first axis = batch when 2-d or more",
        formula=r"\overline{\mathrm{BCE}}+\frac{w}{K}\sum_a\overline{(\Delta_a(p-y))^2}",
        derivative=r"\mathrm{BCE}'/n+\frac{2w}{KM_a}(\Delta_a r_{i-1}-\Delta_a r_i)",
        hessian=r"\mathrm{BCE}''/n+\frac{2w}{KM_a}\,\#\{\text{differences with } r_i\}",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none",
        params={"boundary_weight": "[0, inf)", **_REDUCTION},
        references=(
            "Kervadec et al. (2019), Boundary loss for highly unbalanced segmentation, MIDL",
        ),
        seed="The boundary term mean(|∇p| - |∇y|) can be negative; the CE keeps only y log p; no derivative.",
    ),
    LossInfo(
        name="kl_divergence",
        cls=KLDivergence,
        task="distribution matching",
        summary="KL(y ‖ q) per row, averaged over rows (PyTorch kl_div 'batchmean').",
        inputs="y_true: target distributions (rows); y_pred: probability rows or logits",
        formula=r"\sum_c y_c\log\frac{y_c}{q_c}",
        derivative=r"-y_c/q_c;\ S q - y\ \text{(logits)}",
        hessian=r"y_c/q_c^2;\ S q(1-q)\ \text{(logits)}",
        convex=True,
        robust=False,
        smooth=True,
        bounded=False,
        hessian_kind=EXACT,
        kinks="none; 0 log 0 = 0",
        params={**_LOGITS, **_REDUCTION},
        references=("Kullback & Leibler (1951), Annals of Mathematical Statistics 22(1)",),
        seed="The formula only: no derivative and no 0·log 0 = 0 convention for zero targets.",
    ),
    LossInfo(
        name="contrastive",
        cls=ContrastiveLoss,
        task="similarity learning",
        summary="Pulls similar pairs together and pushes dissimilar ones beyond a margin.",
        inputs="y_true: 1 similar / 0 dissimilar; y_pred: pair distances >= 0",
        formula=r"\tfrac12(y d^2+(1-y)\max(0,m-d)^2)",
        derivative=r"y d-(1-y)\max(0,m-d)",
        hessian=r"y+(1-y)\mathbb 1[d<m]",
        convex=True,
        robust=False,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="Hessian of the dissimilar term 0 at d = m",
        params={"margin": "[0, inf)", **_REDUCTION},
        references=("Hadsell, Chopra & LeCun (2006), CVPR",),
        seed="As typeset, the ½ and the sum bind only the similar term.",
    ),
    LossInfo(
        name="triplet",
        cls=TripletLoss,
        task="similarity learning",
        summary="Triplet margin loss on embeddings (PyTorch TripletMarginLoss).",
        inputs="compute(anchor, positive, negative): embeddings, last axis = features",
        formula=r"\max(0, m + d(a,p) - d(a,n)),\ d(u,v)=\|u-v+\epsilon\|_p",
        derivative=r"\pm\nabla d\ \text{where active}",
        hessian=r"\pm(p-1)(|v|^{p-2}/d^{p-1}-|v|^{2p-2}/d^{2p-1})",
        convex=False,
        robust=False,
        smooth=False,
        bounded=False,
        hessian_kind=EXACT_AE,
        kinks="gradient passes at m + d(a,p) - d(a,n) = 0 (PyTorch's clamp_min)",
        params={
            "margin": "[0, inf)",
            "p": "[1, inf)",
            "eps": "[0, inf)",
            "swap": "bool",
            **_REDUCTION,
        },
        references=("Schroff, Kalenichenko & Philbin (2015), FaceNet, CVPR",),
    ),
]

#: name -> LossInfo, in catalogue order.
REGISTRY: dict[str, LossInfo] = {e.name: e for e in _ENTRIES}

#: Other common names.
ALIASES = {
    "l2": "mse",
    "squared_error": "mse",
    "l1": "mae",
    "absolute_error": "mae",
    "pinball": "quantile",
    "bce": "binary_cross_entropy",
    "log_loss": "binary_cross_entropy",
    "cce": "categorical_cross_entropy",
    "cross_entropy": "categorical_cross_entropy",
    "scce": "sparse_categorical_cross_entropy",
    "multi_margin": "multiclass_hinge",
    "iou": "jaccard",
    "kl": "kl_divergence",
    "kld": "kl_divergence",
    "triplet_margin": "triplet",
}


def _resolve(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"a loss name must be a string; got {name!r}")
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in REGISTRY:
        return key
    close = difflib.get_close_matches(key, [*REGISTRY, *ALIASES], n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(ALIASES.get(c, c)) for c in close)}?" if close else ""
    raise ValueError(f"unknown loss {name!r}{hint} (losskit.names() lists them all)")


def get(name: str, **params: Any) -> LossFunction:
    """Build the registered loss ``name`` with keyword ``params``.

    >>> import losskit
    >>> losskit.get("huber", delta=0.5)
    HuberLoss(delta=0.5)
    """
    return REGISTRY[_resolve(name)].cls(**params)


def names(task: str | None = None) -> list[str]:
    """The registry names, optionally only those of one ``task``."""
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
    return [n for n, e in REGISTRY.items() if task is None or e.task == task]


def info(name: str) -> LossInfo:
    """Metadata of the loss ``name`` (task, inputs, formulas, properties, references)."""
    return REGISTRY[_resolve(name)]
